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

/**
 * Granted to the functions' roles for the Lambda service rather than for their code: it writes each
 * function's logs with the role, and the SQS event source mapping receives and deletes the poll jobs
 * with it (the Lambda developer guide's list for SQS event sources).
 */
export const USED_BY_LAMBDA_SERVICE = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
];

/**
 * `<function>: <action>` of every action granted in some run and used by a recorded call in none, the
 * ones the Lambda service uses aside (resource names differ between deployments, so actions are compared).
 */
export function grantsNoneUsed(results: readonly RunResult[]): string[] {
  const granted = new Set<string>();
  const used = new Set<string>();
  for (const result of results) {
    const callers = [
      functionCaller(result.deployment, 'dispatch', result.ids.dispatch),
      functionCaller(result.deployment, 'poll', result.ids.poll),
    ];
    for (const verdict of result.verdicts) {
      if (verdict.decision === 'Allowed') used.add(`${verdict.caller}: ${verdict.call.action}`);
    }
    for (const caller of callers) {
      for (const { policy } of caller.identityPolicies) {
        for (const statement of policy.Statement as { Effect: string; Action: string | string[] }[]) {
          if (statement.Effect !== 'Allow') continue;
          for (const action of [statement.Action].flat()) {
            granted.add(`${caller.name}: ${action}`);
          }
        }
      }
    }
  }
  return [...granted]
    .filter((grant) => !used.has(grant))
    .filter((grant) => !USED_BY_LAMBDA_SERVICE.includes(grant.split(': ')[1] ?? grant))
    .sort();
}
