/**
 * The boundaries the grants and resource policies draw (infra/grants.ts, infra/resource-policies.ts),
 * checked on the synthesized templates with @cloud-copilot/iam-simulate: each call below must be denied,
 * and its neighbour on the allowed side of the same line must be allowed, so that a denial cannot come
 * from a wrong name in the test rather than from the policy. Both for the sample app and for a construct
 * with keep-mode and OAuth2 mailboxes. The recorded calls of the built functions are checked against the
 * same templates in test/integration/iam-calls.test.ts.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { SAMPLE_MAILBOXES } from '../../infra/sample-stack.ts';
import { DeployedTemplate, type TemplateJson } from '../support/deployed-template.ts';
import {
  administratorOf,
  type Caller,
  checkAllowedCalls,
  checkDeniedCalls,
  functionCaller,
} from '../support/iam-check.ts';
import {
  configParameterIdOf,
  keepOAuthDeployment,
  logicalIdOf,
  sampleDeployment,
  TARGET,
} from '../support/iam-deployments.ts';
import type { IamRequest } from '../support/iam-request-map.ts';
import { withIdentityStatement, withStatementChanged } from '../support/template-edits.ts';

/** A stack's template with the names and ARNs of its ingestion, deployed to TARGET. */
function deployed(
  { stack, ingestion }: { stack: Stack; ingestion: MailboxIngestion },
  template?: TemplateJson,
) {
  const id = (construct: unknown) => logicalIdOf(stack, construct);
  const parameterId = configParameterIdOf(stack);
  if (parameterId === undefined) throw new Error(`${stack.stackName} has no inline config parameter`);
  const parameterName = (deployment: DeployedTemplate) => deployment.ref(parameterId);
  const json = template ?? (Template.fromStack(stack).toJSON() as TemplateJson);
  const deployment = new DeployedTemplate(json, { ...TARGET, stackName: stack.stackName });
  const secret = (name: string) =>
    `arn:aws:secretsmanager:${TARGET.region}:${TARGET.account}:secret:${name}-Ab12Cd`;
  return {
    deployment,
    template: json,
    pollRole: deployment.roleOf(id(ingestion.pollFunction)),
    poll: functionCaller(deployment, 'poll', id(ingestion.pollFunction)),
    dispatch: functionCaller(deployment, 'dispatch', id(ingestion.dispatchFunction)),
    administrator: administratorOf(TARGET.account),
    bucket: deployment.getAtt(id(ingestion.bucket), 'Arn'),
    jobQueue: deployment.getAtt(id(ingestion.jobQueue), 'Arn'),
    jobDlq: deployment.getAtt(id(ingestion.jobDeadLetterQueue), 'Arn'),
    notifications: deployment.getAtt(id(ingestion.notificationQueue), 'Arn'),
    notificationDlq: deployment.getAtt(id(ingestion.notificationDeadLetterQueue), 'Arn'),
    parameter: `arn:aws:ssm:${TARGET.region}:${TARGET.account}:parameter/${parameterName(deployment)}`,
    secret,
  };
}

type Deployed = ReturnType<typeof deployed>;
type Boundary = { caller: Caller; call: IamRequest };

const call = (
  caller: Caller,
  operation: string,
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Boundary => ({
  caller,
  call: { operation, action, resource, context },
});
const CREATE_ONLY = { 's3:if-none-match': '*' };
const MESSAGE = 'mail/support/uidl/1/0f1e2d.eml';

/** [what, a call that must be denied, its allowed neighbour]; `undefined` where nothing near it is allowed. */
type Row = [string, Boundary, Boundary | undefined];

function boundaries(d: Deployed): Row[] {
  return [...bucketBoundaries(d), ...queueAndConfigBoundaries(d)];
}

/** The key prefix, the temporary folder, conditional writes, keep mode's state, TLS; dispatch kept out. */
function bucketBoundaries(d: Deployed): Row[] {
  const { poll, dispatch, bucket } = d;
  return [
    [
      'poll writes outside the key prefix',
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/other/x.eml`, CREATE_ONLY),
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/${MESSAGE}`, CREATE_ONLY),
    ],
    [
      'poll reads outside the key prefix',
      call(poll, 'GetObject', 's3:GetObject', `${bucket}/other/x.eml`),
      call(poll, 'GetObject', 's3:GetObject', `${bucket}/${MESSAGE}`),
    ],
    [
      'poll overwrites a stored message (no If-None-Match)',
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/${MESSAGE}`),
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/mail/.incoming/support/tmp`),
    ],
    [
      'poll deletes a stored message',
      call(poll, 'DeleteObject', 's3:DeleteObject', `${bucket}/${MESSAGE}`),
      call(poll, 'DeleteObject', 's3:DeleteObject', `${bucket}/mail/.incoming/support/tmp`),
    ],
    [
      'poll deletes outside the key prefix',
      call(poll, 'DeleteObject', 's3:DeleteObject', `${bucket}/.incoming/x`),
      undefined,
    ],
    [
      'poll aborts an upload outside .incoming/',
      call(poll, 'AbortMultipartUpload', 's3:AbortMultipartUpload', `${bucket}/${MESSAGE}`),
      call(poll, 'AbortMultipartUpload', 's3:AbortMultipartUpload', `${bucket}/mail/.incoming/support/tmp`),
    ],
    [
      'poll writes a state object blindly',
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/mail/.state/support.jsonl.gz`),
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/mail/.state/support.jsonl.gz`, {
        's3:if-match': '"etag"',
      }),
    ],
    [
      'poll lists the messages',
      call(poll, 'ListObjectsV2', 's3:ListBucket', bucket, { 's3:prefix': 'mail/' }),
      call(poll, 'ListObjectsV2', 's3:ListBucket', bucket, { 's3:prefix': 'mail/.state/support.jsonl.gz' }),
    ],
    ['poll lists the bucket', call(poll, 'ListObjectsV2', 's3:ListBucket', bucket), undefined],
    [
      'poll writes over plain HTTP',
      call(poll, 'PutObject', 's3:PutObject', `${bucket}/${MESSAGE}`, {
        ...CREATE_ONLY,
        'aws:SecureTransport': 'false',
      }),
      undefined,
    ],
    [
      'dispatch reads a message',
      call(dispatch, 'GetObject', 's3:GetObject', `${bucket}/${MESSAGE}`),
      call(poll, 'GetObject', 's3:GetObject', `${bucket}/${MESSAGE}`),
    ],
    [
      'dispatch writes a message',
      call(dispatch, 'PutObject', 's3:PutObject', `${bucket}/${MESSAGE}`, CREATE_ONLY),
      undefined,
    ],
  ];
}

/** Who sends to which queue, who reads notifications, the config read-only and without its history. */
function queueAndConfigBoundaries(d: Deployed): Row[] {
  const { poll, dispatch, administrator: admin } = d;
  return [
    [
      'poll sends a job',
      call(poll, 'SendMessage', 'sqs:SendMessage', d.jobQueue),
      call(poll, 'SendMessage', 'sqs:SendMessage', d.notifications),
    ],
    [
      'poll sends to a dead-letter queue',
      call(poll, 'SendMessage', 'sqs:SendMessage', d.notificationDlq),
      undefined,
    ],
    [
      'poll sends to the job dead-letter queue',
      call(poll, 'SendMessage', 'sqs:SendMessage', d.jobDlq),
      undefined,
    ],
    [
      'poll consumes notifications',
      call(poll, 'ReceiveMessage', 'sqs:ReceiveMessage', d.notifications),
      call(poll, 'ReceiveMessage', 'sqs:ReceiveMessage', d.jobQueue),
    ],
    [
      'poll writes its config',
      call(poll, 'PutParameter', 'ssm:PutParameter', d.parameter),
      call(poll, 'GetParameter', 'ssm:GetParameter', d.parameter),
    ],
    [
      'poll reads the config history',
      call(poll, 'GetParameterHistory', 'ssm:GetParameterHistory', d.parameter),
      undefined,
    ],
    [
      'dispatch sends a notification',
      call(dispatch, 'SendMessage', 'sqs:SendMessage', d.notifications),
      call(dispatch, 'SendMessage', 'sqs:SendMessage', d.jobQueue),
    ],
    [
      'dispatch sends a job over plain HTTP',
      call(dispatch, 'SendMessage', 'sqs:SendMessage', d.jobQueue, { 'aws:SecureTransport': 'false' }),
      undefined,
    ],
    [
      'another principal sends a job',
      call(admin, 'SendMessage', 'sqs:SendMessage', d.jobQueue),
      call(admin, 'SendMessage', 'sqs:SendMessage', d.notifications),
    ],
  ];
}

/** The password and OAuth2 secrets of a deployment, and whether the poll function may write each back. */
function secretBoundaries(d: Deployed, readable: string[], writable: string[]): Row[] {
  const { poll, dispatch } = d;
  const rows: Row[] = readable.map((name) => [
    `dispatch reads ${name}`,
    call(dispatch, 'GetSecretValue', 'secretsmanager:GetSecretValue', d.secret(name)),
    call(poll, 'GetSecretValue', 'secretsmanager:GetSecretValue', d.secret(name)),
  ]);
  for (const name of readable.filter((secret) => !writable.includes(secret))) {
    const write = call(poll, 'PutSecretValue', 'secretsmanager:PutSecretValue', d.secret(name));
    const allowed =
      writable[0] && call(poll, 'PutSecretValue', 'secretsmanager:PutSecretValue', d.secret(writable[0]));
    rows.push([`poll writes ${name} back`, write, allowed || undefined]);
  }
  const lookalike = d.secret(`${readable[0]}-admin`);
  rows.push([
    'poll reads a secret named like a configured one',
    call(poll, 'GetSecretValue', 'secretsmanager:GetSecretValue', lookalike),
    undefined,
  ]);
  return rows;
}

async function check(rows: Row[], d: Deployed) {
  const denied = await checkDeniedCalls(
    d.deployment,
    rows.map(([, boundary]) => boundary),
  );
  const neighbours = rows.flatMap(([, , allowed]) => (allowed ? [allowed] : []));
  return { denied, allowed: await checkAllowedCalls(d.deployment, neighbours) };
}

describe('the sample app', () => {
  const sample = sampleDeployment();
  const secrets = ['mailbox-poller/support', 'mailbox-poller/invoices'];
  const rowsOf = (d: Deployed) => [...boundaries(d), ...secretBoundaries(d, secrets, [])];

  it('denies every call across a boundary and allows its neighbour', async () => {
    const d = deployed(sample);
    expect(await check(rowsOf(d), d)).toEqual({ denied: [], allowed: [] });
  });

  it('names what allows a call that must be denied: a delete grant on every object, the job queue open to all', async () => {
    const { template, pollRole, bucket } = deployed(sample);
    const deleteAnything = { Effect: 'Allow', Action: 's3:DeleteObject', Resource: `${bucket}/*` };
    const tooWide = withIdentityStatement(template, pollRole, deleteAnything);
    const open = withStatementChanged(tooWide, 'OnlyTheDispatcherSendsJobs', (statement) => ({
      ...statement,
      Action: 'sqs:PurgeQueue',
    }));
    const edited = deployed(sample, open);
    const { denied } = await check(rowsOf(edited), edited);
    const grantedBy = 'Allowed, must be denied: allowed by identity policy';
    expect(denied).toEqual([
      expect.stringMatching(
        new RegExp(
          `^poll: DeleteObject = s3:DeleteObject on ${bucket}/mail/support/uidl/1/0f1e2d\\.eml → ${grantedBy} IngestionPollRoleDefaultPolicy\\w+ statement #\\d+$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^poll: DeleteObject = s3:DeleteObject on ${bucket}/\\.incoming/x → ${grantedBy} IngestionPollRoleDefaultPolicy\\w+ statement #\\d+$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^an administrator role of the account: SendMessage = sqs:SendMessage on arn:aws:sqs:us-east-1:123456789012:MailboxPoller-IngestionJobQueue\\w+\\.fifo → ${grantedBy} AdministratorAccess statement #1$`,
        ),
      ),
    ]);
  });
});

describe('the check itself', () => {
  it('fails a call whose condition key does not apply to its action rather than evaluate it as absent', async () => {
    const d = deployed(sampleDeployment());
    const misfiled = call(d.poll, 'PutObject', 's3:PutObject', `${d.bucket}/${MESSAGE}`, {
      ...CREATE_ONLY,
      's3:prefix': 'mail/',
    });
    expect(await checkAllowedCalls(d.deployment, [misfiled])).toEqual([
      expect.stringMatching(/ → Error: context keys not evaluated for s3:PutObject: s3:prefix$/),
    ]);
  });
});

describe('a construct with keep-mode and OAuth2 mailboxes', () => {
  const d = deployed(keepOAuthDeployment());

  it('denies every call across a boundary, PutSecretValue on every secret but the refresh-token one', async () => {
    const rows = [
      ...boundaries(d),
      ...secretBoundaries(d, ['mail/archive', 'oauth/app', 'oauth/delegated'], ['oauth/delegated']),
    ];
    expect(rows.map(([name]) => name)).toContain('poll writes oauth/app back');
    expect(await check(rows, d)).toEqual({ denied: [], allowed: [] });
  });
});

describe('a construct notifying an EventBridge bus beside the queue', () => {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'WithBus', { env: TARGET });
  const eventBus = new events.EventBus(stack, 'Bus', { eventBusName: 'mail-events' });
  const d = deployed({
    stack,
    ingestion: new MailboxIngestion(stack, 'Mail', { mailboxes: SAMPLE_MAILBOXES, eventBus }),
  });
  const busArn = (name: string) => `arn:aws:events:${TARGET.region}:${TARGET.account}:event-bus/${name}`;
  const EVENT = { 'events:source': 'mailbox-poller', 'events:detail-type': 'Email Received' };
  const put = (caller: Caller, bus: string) =>
    call(caller, 'PutEvents', 'events:PutEvents', busArn(bus), EVENT);

  it('lets the poll function put events on its bus and on no other; the dispatch function on none', async () => {
    const rows: Row[] = [
      ...boundaries(d),
      ['poll puts events on another bus', put(d.poll, 'other-events'), put(d.poll, 'mail-events')],
      ['poll puts events on the default bus', put(d.poll, 'default'), put(d.poll, 'mail-events')],
      ['dispatch puts events on the bus', put(d.dispatch, 'mail-events'), put(d.poll, 'mail-events')],
    ];
    expect(await check(rows, d)).toEqual({ denied: [], allowed: [] });
  });
});
