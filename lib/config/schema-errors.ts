/**
 * Turns JSON Schema validation errors into one "path: problem" line per mistake, e.g.
 * `mailboxes[2].tls: must be one of "implicit", "starttls", "none"`.
 *
 * Where ajv's own wording would be unhelpful (a failed `anyOf` lists every branch), the schema carries an
 * `x-problem` sentence next to the keyword; that sentence replaces the keyword's error and all the errors
 * of its branches. Values from the document are never quoted: a value may be a password.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { closestName } from './did-you-mean.ts';

/** Annotation keyword holding the sentence to show when the schema object it sits in fails. */
export const PROBLEM_KEYWORD = 'x-problem';

export function describeSchemaErrors(errors: readonly ErrorObject[]): string[] {
  const replaced = errors.filter((error) => typeof problemOf(error) === 'string');
  const problems: string[] = [];
  for (const error of errors) {
    const problem = problemOf(error);
    if (problem === undefined && replaced.some((owner) => isWithin(error, owner))) continue;
    problems.push(problem === undefined ? describe(error) : `${configPath(error.instancePath)}: ${problem}`);
  }
  return [...new Set(problems)];
}

/** `/mailboxes/2/tls` → `mailboxes[2].tls`; the document itself is `config`. */
export function configPath(pointer: string, child?: string): string {
  const segments = pointer === '' ? [] : pointer.slice(1).split('/');
  if (child !== undefined) segments.push(child);
  let path = '';
  for (const raw of segments) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path === '' ? 'config' : path;
}

function problemOf(error: ErrorObject): string | undefined {
  const sentence = (error.parentSchema as Record<string, unknown> | undefined)?.[PROBLEM_KEYWORD];
  return typeof sentence === 'string' ? sentence : undefined;
}

/**
 * Whether `error` comes from a branch of the schema object whose failure `owner` already explains.
 * ajv's schema paths are relative to the compiled unit (a `$ref` target may be compiled apart), so the
 * value's path is compared too: only errors about the owner's value or values inside it qualify.
 */
function isWithin(error: ErrorObject, owner: ErrorObject): boolean {
  const ownerSchema = owner.schemaPath.slice(0, owner.schemaPath.lastIndexOf('/'));
  const sameValue =
    error.instancePath === owner.instancePath || error.instancePath.startsWith(`${owner.instancePath}/`);
  return sameValue && error.schemaPath.startsWith(`${ownerSchema}/`);
}

function describe(error: ErrorObject): string {
  const at = configPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${configPath(error.instancePath, String(params.missingProperty))}: is required`;
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      const typed = String(params.additionalProperty);
      const property = configPath(error.instancePath, typed);
      const closest = closestName(typed, known);
      const guess = closest === undefined ? '' : `; did you mean "${closest}"?`;
      return `${property}: is not a known property${guess} (known: ${known.join(', ')})`;
    }
    case 'enum':
      return `${at}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at}: must be ${JSON.stringify(params.allowedValue)}`;
    case 'type':
      return `${at}: must be ${[params.type].flat().map(withArticle).join(' or ')}`;
    case 'minimum':
      return `${at}: must be at least ${params.limit}`;
    case 'maximum':
      return `${at}: must be at most ${params.limit}`;
    case 'minLength':
      return params.limit === 1
        ? `${at}: must not be empty`
        : `${at}: must be at least ${params.limit} characters`;
    case 'maxLength':
      return `${at}: must be at most ${params.limit} characters`;
    case 'minItems':
      return `${at}: must have at least ${params.limit} ${params.limit === 1 ? 'entry' : 'entries'}`;
    case 'format':
      return `${at}: must be a valid ${params.format}`;
    default:
      return `${at}: ${error.message ?? 'is invalid'}`;
  }
}

function withArticle(type: unknown): string {
  const name = String(type);
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}
