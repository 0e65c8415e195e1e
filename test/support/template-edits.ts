/**
 * Copies of a synthesized template with one permission taken away, to show that a check over the
 * template's policies fails, and how it reads, when a grant is missing or a deny is too broad.
 */
import type { TemplateJson } from './deployed-template.ts';

type Statement = { Action: string | string[]; [key: string]: unknown };

function copyOf(template: TemplateJson): TemplateJson {
  return structuredClone(template);
}

/** The template with `action` removed from every identity policy statement (a statement left empty goes). */
export function withoutIdentityAction(template: TemplateJson, action: string): TemplateJson {
  const copy = copyOf(template);
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const document = resource.Properties?.['PolicyDocument'] as { Statement: Statement[] };
    document.Statement = document.Statement.flatMap((statement) => {
      const actions = [statement.Action].flat().filter((name) => name !== action);
      if (actions.length === 0) return [];
      return [{ ...statement, Action: actions.length === 1 ? actions[0]! : actions }];
    });
  }
  return copy;
}

/** The template with `change` applied to the statement whose Sid is `sid`, in whichever resource policy has it. */
export function withStatementChanged(
  template: TemplateJson,
  sid: string,
  change: (statement: Record<string, unknown>) => Record<string, unknown>,
): TemplateJson {
  const copy = copyOf(template);
  let found = false;
  for (const resource of Object.values(copy.Resources)) {
    const document = resource.Properties?.['PolicyDocument'] as
      | { Statement?: Record<string, unknown>[] }
      | undefined;
    document?.Statement?.forEach((statement, index, statements) => {
      if (statement['Sid'] !== sid) return;
      statements[index] = change(statement);
      found = true;
    });
  }
  if (!found) throw new Error(`no statement ${sid} in the template`);
  return copy;
}

/** The template with `statement` added to the identity policy (AWS::IAM::Policy) attached to the role. */
export function withIdentityStatement(
  template: TemplateJson,
  roleLogicalId: string,
  statement: Record<string, unknown>,
): TemplateJson {
  const copy = copyOf(template);
  const policy = Object.values(copy.Resources).find(
    (resource) =>
      resource.Type === 'AWS::IAM::Policy' &&
      ((resource.Properties?.['Roles'] ?? []) as { Ref?: string }[]).some(
        (role) => role.Ref === roleLogicalId,
      ),
  );
  const document = policy?.Properties?.['PolicyDocument'] as { Statement: unknown[] } | undefined;
  if (document === undefined) throw new Error(`no identity policy attached to ${roleLogicalId}`);
  document.Statement.push(statement);
  return copy;
}
