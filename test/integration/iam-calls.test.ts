/**
 * Every AWS call the BUILT functions make is allowed by the policies of the template that deploys them.
 *
 * The dispatch and poll bundles (scripts/build.mjs) run against Dovecot, fauxqs and the Secrets Manager,
 * SSM and token stand-ins, with the environment their template gives them, behind a recording proxy
 * (test/support/aws-request-recorder.ts). Each recorded request is mapped to its IAM action, resource ARN
 * and condition keys and evaluated with @cloud-copilot/iam-simulate against the caller's role policies and
 * the bucket or queue policy, resolved for a fixed account and region. A call that is not allowed fails
 * the test with the call and the statement it lacks; a call the mapping does not know fails it too.
 *
 * Two deployments: the sample app (infra/sample-stack.ts, delete mode), and a construct with keep-mode and
 * OAuth2 mailboxes (refresh-token rotation written back). The runs are steered through the paths that make
 * other calls: a multipart upload that fails (AbortMultipartUpload, then the job's retry delay), one that
 * succeeds (copy into place, temporary object deleted), a notification that fails after the store (the
 * next run's conditional write finds the object: HeadObject), keep mode's first read answered 403 as S3
 * does for a missing key (ListObjectsV2), and its state written first with If-None-Match, then If-Match.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { MailboxPollerStack, SAMPLE_MAILBOXES } from '../../infra/sample-stack.ts';
import { type AwsRequestRecorder, startAwsRequestRecorder } from '../support/aws-request-recorder.ts';
import { deployFunctions } from '../support/deployed-functions.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { checkRecordedCalls, functionCaller, unusedGrants } from '../support/iam-check.ts';
import { iamRequestsFor } from '../support/iam-request-map.ts';
import { buildFunctionBundles, captureOutput } from '../support/lambda-harness.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { type SsmEndpoint, startSsmEndpoint } from '../support/ssm-endpoint.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const TARGET = { account: '123456789012', region: 'us-east-1' };
const USERS = {
  support: 'support-pw',
  invoices: 'invoices-pw',
  archive: 'archive-pw',
  keeper: 'x',
  oauthuser: 'x',
};
const APP = { clientId: 'poller-app', clientSecret: 'app-secret' };
const DESKTOP = { clientId: 'desktop-app' };

const message = (tag: string, n: number) =>
  Buffer.from(`Message-ID: <${tag}-${n}@example.com>\r\nSubject: ${tag} ${n}\r\n\r\nbody ${n}\r\n`);
/** Above the store's 8 MiB multipart threshold: the upload goes through `.incoming/` and a copy. */
const large = (n: number) =>
  Buffer.concat([message('large', n), Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(9 * 1024))]);

/** Keep mode with a password and with a refresh-token mailbox, and a client-credentials mailbox in drain mode. */
const KEEP_OAUTH_MAILBOXES = [
  {
    id: 'archive',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'archive',
    keep: true,
    password: { secretId: 'mail/archive' },
  },
  {
    id: 'delegated',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'keeper',
    keep: true,
    oauth2: { grant: 'refresh_token', secret: { secretId: 'oauth/delegated' } },
  },
  {
    id: 'app',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'oauthuser',
    oauth2: { grant: 'client_credentials', secret: { secretId: 'oauth/app' } },
  },
];

function synthApp() {
  return new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

/** The template and the logical ids the runs need, from a stack with one MailboxIngestion. */
function idsOf(stack: Stack, ingestion: MailboxIngestion) {
  const id = (construct: { node: { defaultChild?: unknown } }) =>
    stack.getLogicalId(construct.node.defaultChild as never);
  const configParameter = Object.keys(Template.fromStack(stack).findResources('AWS::SSM::Parameter'))[0]!;
  return {
    template: Template.fromStack(stack).toJSON() as never,
    ids: {
      dispatch: id(ingestion.dispatchFunction),
      poll: id(ingestion.pollFunction),
      jobQueue: id(ingestion.jobQueue),
      configParameter,
    },
    bucket: id(ingestion.bucket as never),
  };
}

describe('every AWS call of the built functions is allowed by the synthesized policies', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let secrets: SecretsManagerEndpoint;
  let ssm: SsmEndpoint;
  let tokens: TokenEndpoint;
  let recorder: AwsRequestRecorder;
  let outDir: string;
  let bundles: { poll: string; dispatch: string };
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'iam-calls-'));
    tokens = await startTokenEndpoint({ clients: [APP, DESKTOP] });
    [dovecot, aws, secrets, ssm, bundles] = await Promise.all([
      startDovecot({
        users: Object.entries(USERS).map(([name, password]) => ({ name, password })),
        oauth2IntrospectionUrl: `${tokens.url}/introspect`,
      }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      startSsmEndpoint(),
      buildFunctionBundles(outDir),
    ]);
    recorder = await startAwsRequestRecorder({
      s3: aws.endpoint,
      sqs: aws.endpoint,
      secretsmanager: secrets.endpoint,
      ssm: ssm.endpoint,
    });
    // Every SDK client of the bundles, whatever its service, goes through the recorder.
    for (const name of Object.keys(process.env))
      if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: recorder.endpoint,
      AWS_REGION: TARGET.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([
      dovecot?.stop(),
      aws?.stop(),
      secrets?.close(),
      ssm?.close(),
      tokens?.close(),
      recorder?.close(),
    ]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** Points every deployed mailbox at Dovecot, as the user named in `users` (by mailbox id). */
  const toDovecot =
    (users: Record<string, string>) => (document: { mailboxes: Record<string, unknown>[] }) => ({
      ...document,
      mailboxes: document.mailboxes.map((mailbox) => ({
        ...mailbox,
        host: '127.0.0.1',
        port: dovecot.pop3sPort,
        tls: 'implicit',
        ca: dovecot.caPem,
        username: users[String(mailbox['id'])],
      })),
    });

  /** The recorded calls of one deployment, evaluated; the run's log lines are kept out of the console. */
  async function evaluate(
    deployment: Awaited<ReturnType<typeof deployFunctions>>['deployment'],
    ids: { dispatch: string; poll: string },
    from: number,
  ) {
    const callers = {
      dispatch: functionCaller(deployment, 'dispatch', ids.dispatch),
      poll: functionCaller(deployment, 'poll', ids.poll),
    };
    const requests = recorder.requests.slice(from);
    const result = await checkRecordedCalls(deployment, callers, requests);
    const operations = (caller: string) =>
      new Set(
        requests
          .filter((request) => request.caller === caller)
          .flatMap((request) => {
            const mapped = iamRequestsFor(request, TARGET.account);
            return mapped.kind === 'mapped' ? mapped.authorizations.map((call) => call.operation) : [];
          }),
      );
    return { ...result, operations, unused: unusedGrants(Object.values(callers), result.verdicts) };
  }

  test('the sample app (delete mode): multipart, retries, a notification that failed after the store', async () => {
    const app = synthApp();
    const stack = new MailboxPollerStack(app, 'MailboxPoller', { mailboxes: SAMPLE_MAILBOXES });
    const { template, ids } = idsOf(stack, stack.ingestion);
    const from = recorder.requests.length;
    const original = process.stderr.write;
    const output = captureOutput();
    try {
      const run = await deployFunctions({
        template,
        target: { ...TARGET, stackName: 'MailboxPoller' },
        ids,
        bundles,
        aws,
        ssm,
        recorder,
        adaptConfig: toDovecot({ support: 'support', invoices: 'invoices' }),
      });
      secrets.putSecret('mailbox-poller/support', JSON.stringify({ password: USERS.support }));
      secrets.putSecret('mailbox-poller/invoices', USERS.invoices);
      await dovecot.seed('support', [message('support', 1), message('support', 2), large(3)]);
      await dovecot.seed('invoices', [message('invoices', 1)]);
      // Slot 1: the large message's first part is refused (its upload is aborted, the job retried);
      // the first notification batch is refused after its objects were stored.
      recorder.failNext((r) => r.caller === 'poll' && 'partNumber' in r.query, {
        status: 403,
        code: 'AccessDenied',
      });
      recorder.failNext((r) => r.caller === 'poll' && r.service === 'sqs', {
        status: 403,
        code: 'AccessDenied',
      });
      const first = await run.runSlot('2025-03-04T10:00:00Z');
      expect(first.batchItemFailures.length).toBeGreaterThan(0);
      // Slot 2: everything left is stored (the refused-notification ones found in place), notified, deleted.
      expect(await run.runSlot('2025-03-04T10:05:00Z')).toEqual({ batchItemFailures: [] });
      expect(await dovecot.messageCount('support')).toBe(0);
      expect(await dovecot.messageCount('invoices')).toBe(0);

      const { problems, operations, unused } = await evaluate(run.deployment, ids, from);
      expect(problems).toEqual([]);
      expect(operations('dispatch')).toEqual(new Set(['GetParameter', 'SendMessageBatch']));
      expect([...operations('poll')].sort()).toEqual(
        [
          'AbortMultipartUpload',
          'ChangeMessageVisibility',
          'CompleteMultipartUpload',
          'CopyObject',
          'CreateMultipartUpload',
          'DeleteObject',
          'GetObject',
          'GetParameter',
          'GetSecretValue',
          'HeadObject',
          'PutObject',
          'SendMessageBatch',
          'UploadPart',
        ].sort(),
      );
      process.stderr.write = original;
      console.error(unused, recorder.requests.length);
    } finally {
      output.stop();
    }
  });

  test('keep mode and OAuth2 mailboxes: state read, listed and written conditionally, refresh token written back', async () => {
    const app = synthApp();
    const stack = new Stack(app, 'KeepOAuth', { env: TARGET });
    const ingestion = new MailboxIngestion(stack, 'Mail', { mailboxes: KEEP_OAUTH_MAILBOXES });
    const { template, ids } = idsOf(stack, ingestion);
    const from = recorder.requests.length;
    const original = process.stderr.write;
    const output = captureOutput();
    try {
      const run = await deployFunctions({
        template,
        target: { ...TARGET, stackName: 'KeepOAuth' },
        ids,
        bundles,
        aws,
        ssm,
        recorder,
        adaptConfig: toDovecot({ archive: 'archive', delegated: 'keeper', app: 'oauthuser' }),
      });
      secrets.putSecret('mail/archive', USERS.archive);
      const refreshToken = tokens.grantRefreshToken('keeper', DESKTOP.clientId, 'pop');
      const delegated = { grant: 'refresh_token', clientId: DESKTOP.clientId, refreshToken, scope: 'pop' };
      secrets.putSecret('oauth/delegated', JSON.stringify({ ...delegated, tokenUrl: tokens.tokenUrl }));
      const app = { grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: tokens.tokenUrl };
      secrets.putSecret('oauth/app', JSON.stringify(app));
      await dovecot.seed('archive', [message('archive', 1), message('archive', 2)]);
      await dovecot.seed('keeper', [message('keeper', 1)]);
      await dovecot.seed('oauthuser', [message('app', 1)]);
      // S3 answers a missing key 403 when it does not consider the role's ListBucket: the store lists it.
      recorder.failNext((r) => r.caller === 'poll' && r.method === 'GET' && r.path.includes('/.state/'), {
        status: 403,
        code: 'AccessDenied',
      });
      expect(await run.runSlot('2025-03-04T11:00:00Z')).toEqual({ batchItemFailures: [] });
      await dovecot.seed('archive', [message('archive', 3)]);
      await dovecot.seed('keeper', [message('keeper', 2)]);
      expect(await run.runSlot('2025-03-04T11:05:00Z')).toEqual({ batchItemFailures: [] });
      expect(await dovecot.messageCount('archive')).toBe(3);
      expect(await dovecot.messageCount('keeper')).toBe(2);
      expect(await dovecot.messageCount('oauthuser')).toBe(0);
      expect(secrets.writtenIds).toContain('oauth/delegated');
      expect(JSON.parse(secrets.valueOf('oauth/delegated')).refreshToken).not.toBe(refreshToken);

      const { problems, operations, unused } = await evaluate(run.deployment, ids, from);
      expect(problems).toEqual([]);
      expect(operations('dispatch')).toEqual(new Set(['GetParameter', 'SendMessageBatch']));
      expect([...operations('poll')].sort()).toEqual(
        [
          'GetObject',
          'GetParameter',
          'GetSecretValue',
          'ListObjectsV2',
          'PutObject',
          'PutSecretValue',
          'SendMessageBatch',
        ].sort(),
      );
      const stateWrites = recorder.requests
        .slice(from)
        .filter((r) => r.method === 'PUT' && r.path.includes('/.state/'))
        .map((r) =>
          r.headers['if-match'] === undefined ? `If-None-Match ${r.headers['if-none-match']}` : 'If-Match',
        );
      expect(stateWrites.sort()).toEqual(['If-Match', 'If-Match', 'If-None-Match *', 'If-None-Match *']);
      process.stderr.write = original;
      console.error(unused, recorder.requests.length);
    } finally {
      output.stop();
    }
  });
});
