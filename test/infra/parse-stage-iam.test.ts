/**
 * The parse stage's role on the synthesized template, evaluated with the IAM simulator as
 * test/infra/iam-boundaries.test.ts does for the poll and dispatch roles: it reads raw messages and writes
 * parsed objects, and nothing across those lines (a raw message, the state, the notification queue);
 * each denied call has an allowed neighbour, so a denial cannot come from a wrong name in the test.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { DeployedTemplate, type TemplateJson } from '../support/deployed-template.ts';
import { type Caller, checkAllowedCalls, checkDeniedCalls, functionCaller } from '../support/iam-check.ts';
import { logicalIdOf, TARGET } from '../support/iam-deployments.ts';
import type { IamRequest } from '../support/iam-request-map.ts';
import { MAILBOXES } from './synth-helpers.ts';

const RAW = 'mail/support/uidl/1/0f1e2d.eml';
const PARSED = 'mail/support/uidl/1/0f1e2d.parsed/message.json';

function deployedWithParseStage() {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Parsed', { env: TARGET });
  const ingestion = new MailboxIngestion(stack, 'Mail', { mailboxes: MAILBOXES, parsedMail: true });
  const json = Template.fromStack(stack).toJSON() as TemplateJson;
  const deployment = new DeployedTemplate(json, { ...TARGET, stackName: stack.stackName });
  const id = (construct: unknown) => logicalIdOf(stack, construct);
  const arnOf = (construct: unknown) => deployment.getAtt(id(construct), 'Arn');
  return {
    deployment,
    parse: functionCaller(deployment, 'parse', id(ingestion.parseStage!.parseFunction)),
    bucket: arnOf(ingestion.bucket),
    parsedQueue: arnOf(ingestion.parsedQueue),
    notifications: arnOf(ingestion.notificationQueue),
  };
}

const call = (caller: Caller, operation: string, action: string, resource: string) => ({
  caller,
  call: { operation, action, resource, context: {} } satisfies IamRequest,
});

describe('parse stage role', () => {
  it('denies every call across its boundaries and allows the neighbour', async () => {
    const { deployment, parse, bucket, parsedQueue, notifications } = deployedWithParseStage();
    const denied = [
      call(parse, 'PutObject', 's3:PutObject', `${bucket}/${RAW}`),
      call(parse, 'PutObject', 's3:PutObject', `${bucket}/other/x.parsed/message.json`),
      call(parse, 'GetObject', 's3:GetObject', `${bucket}/mail/.state/support.jsonl.gz`),
      call(parse, 'GetObject', 's3:GetObject', `${bucket}/other/x.eml`),
      call(parse, 'DeleteObject', 's3:DeleteObject', `${bucket}/${PARSED}`),
      call(parse, 'SendMessage', 'sqs:SendMessage', notifications),
    ];
    const allowed = [
      call(parse, 'PutObject', 's3:PutObject', `${bucket}/${PARSED}`),
      call(parse, 'PutObject', 's3:PutObject', `${bucket}/mail/support/uidl/1/0f1e2d.parsed/parts/1`),
      call(parse, 'GetObject', 's3:GetObject', `${bucket}/${RAW}`),
      call(parse, 'SendMessage', 'sqs:SendMessage', parsedQueue),
    ];
    expect(await checkDeniedCalls(deployment, denied)).toEqual([]);
    expect(await checkAllowedCalls(deployment, allowed)).toEqual([]);
  });
});
