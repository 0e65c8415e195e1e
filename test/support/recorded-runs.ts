/**
 * Recorded runs of the built functions, one per deployment, and their evaluation: the template and
 * logical ids a run needs, what it recorded, and the recorded calls checked against the template it ran
 * with or against an edited copy (test/integration/iam-calls.test.ts).
 */
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import type { RecordedRequest } from './aws-request-recorder.ts';
import { DeployedTemplate, type TemplateJson } from './deployed-template.ts';
import { checkRecordedCalls, functionCaller, type Verdict } from './iam-check.ts';
import { configParameterIdOf, logicalIdOf, TARGET } from './iam-deployments.ts';
import { iamRequestsFor } from './iam-request-map.ts';

/** The template and the logical ids the runs need, from a stack with one MailboxIngestion. */
export function deployable({ stack, ingestion }: { stack: Stack; ingestion: MailboxIngestion }) {
  return {
    template: Template.fromStack(stack).toJSON() as TemplateJson,
    target: { ...TARGET, stackName: stack.stackName },
    ids: {
      dispatch: logicalIdOf(stack, ingestion.dispatchFunction),
      poll: logicalIdOf(stack, ingestion.pollFunction),
      jobQueue: logicalIdOf(stack, ingestion.jobQueue),
      configParameter: configParameterIdOf(stack),
    },
  };
}

export interface RunResult {
  readonly deployment: DeployedTemplate;
  readonly ids: { dispatch: string; poll: string };
  readonly requests: readonly RecordedRequest[];
  readonly verdicts: readonly Verdict[];
  readonly problems: readonly string[];
}

/** The recorded calls evaluated against `template` (by default the one the functions ran with). */
export async function evaluate(result: RunResult, template?: TemplateJson) {
  const deployment = template ? new DeployedTemplate(template, result.deployment.target) : result.deployment;
  const callers = {
    dispatch: functionCaller(deployment, 'dispatch', result.ids.dispatch),
    poll: functionCaller(deployment, 'poll', result.ids.poll),
  };
  return { callers, ...(await checkRecordedCalls(deployment, callers, result.requests)) };
}

export function operationsOf(result: RunResult, caller: string): string[] {
  const operations = result.requests
    .filter((request) => request.caller === caller)
    .flatMap((request) => {
      const mapped = iamRequestsFor(request, TARGET.account);
      return mapped.kind === 'mapped' ? mapped.authorizations.map((call) => call.operation) : [];
    });
  return [...new Set(operations)].sort();
}
