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
 * Four deployments: the sample app (infra/sample-stack.ts, delete mode), a construct with keep-mode and
 * OAuth2 mailboxes (refresh-token rotation written back), one under a customer managed KMS key (the
 * key permissions S3 and SQS use on the caller's behalf are derived from each call and checked too), and
 * one notifying through an EventBridge bus alone (PutEvents, through the PutEvents stand-in).
 * The runs are steered through the paths that make other calls: a multipart upload that fails
 * (AbortMultipartUpload, then the job's retry delay), one that succeeds (copy into place, temporary object
 * deleted), a notification that fails after the store (the next run's conditional write finds the
 * object: HeadObject, GetObject), keep mode's first read answered 403 as S3 does for a missing key
 * (ListObjectsV2), and its state written with If-None-Match, then If-Match.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SAMPLE_MAILBOXES } from '../../infra/sample-stack.ts';
import {
  type AwsRequestRecorder,
  type RecordedRequest,
  startAwsRequestRecorder,
} from '../support/aws-request-recorder.ts';
import { deployFunctions } from '../support/deployed-functions.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  eventBusDeployment,
  keepOAuthDeployment,
  kmsDeployment,
  sampleDeployment,
  TARGET,
} from '../support/iam-deployments.ts';
import { buildFunctionBundles, captureOutput } from '../support/lambda-harness.ts';
import {
  deployable,
  evaluate,
  grantsNoneUsed,
  operationsOf,
  type RunResult,
} from '../support/recorded-runs.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { type SsmEndpoint, startSsmEndpoint } from '../support/ssm-endpoint.ts';
import { withoutIdentityAction, withStatementChanged } from '../support/template-edits.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const USERS = { support: 'pw-s', invoices: 'pw-i', archive: 'pw-a', keeper: 'unused', oauthuser: 'unused' };
const APP = { clientId: 'poller-app', clientSecret: 'app-secret' };
const DESKTOP = { clientId: 'desktop-app' };
const REFUSED = { status: 403, code: 'AccessDenied' };

const message = (tag: string, n: number) =>
  Buffer.from(`Message-ID: <${tag}-${n}@example.com>\r\nSubject: ${tag} ${n}\r\n\r\nbody ${n}\r\n`);
/** Above the store's 8 MiB multipart threshold: the upload goes through `.incoming/` and a copy. */
const large = (n: number) =>
  Buffer.concat([message('large', n), Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(9 * 1024))]);

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
  let bus: EventBridgeEndpoint;
  const results: { sample?: RunResult; keepOAuth?: RunResult; kms?: RunResult; bus?: RunResult } = {};

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'iam-calls-'));
    tokens = await startTokenEndpoint({ clients: [APP, DESKTOP] });
    [dovecot, aws, secrets, ssm, bus, bundles] = await Promise.all([
      startDovecot({
        users: Object.entries(USERS).map(([name, password]) => ({ name, password })),
        oauth2IntrospectionUrl: `${tokens.url}/introspect`,
      }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      startSsmEndpoint(),
      startEventBridgeEndpoint(),
      buildFunctionBundles(outDir),
    ]);
    const upstreams = {
      s3: aws.endpoint,
      sqs: aws.endpoint,
      secretsmanager: secrets.endpoint,
      ssm: ssm.endpoint,
      events: bus.endpoint,
    };
    recorder = await startAwsRequestRecorder(upstreams);
    // Every SDK client of the bundles, whatever its service, goes through the recorder.
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
    }
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: recorder.endpoint,
      AWS_REGION: TARGET.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    const stops = [
      dovecot?.stop(),
      aws?.stop(),
      secrets?.close(),
      ssm?.close(),
      tokens?.close(),
      bus?.close(),
    ];
    await Promise.all([...stops, recorder?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** Points every deployed mailbox at Dovecot, as the user named in `users` (by mailbox id). */
  const toDovecot =
    (users: Record<string, string>) => (document: { mailboxes: Record<string, unknown>[] }) => ({
      ...document,
      mailboxes: document.mailboxes.map((mailbox) => ({
        ...mailbox,
        ...{ host: '127.0.0.1', port: dovecot.pop3sPort, tls: 'implicit', ca: dovecot.caPem },
        username: users[String(mailbox['id'])],
      })),
    });

  /** Deploys, runs `scenario` with the handlers' log lines kept off the console, evaluates what was recorded. */
  async function recordRun(
    { template, target, ids }: ReturnType<typeof deployable>,
    users: Record<string, string>,
    scenario: (run: Awaited<ReturnType<typeof deployFunctions>>) => Promise<void>,
    configDocument?: { mailboxes: Record<string, unknown>[] },
  ): Promise<RunResult> {
    const from = recorder.requests.length;
    const output = captureOutput();
    let run: Awaited<ReturnType<typeof deployFunctions>>;
    try {
      const environment = { bundles, aws, ssm, recorder, adaptConfig: toDovecot(users), configDocument };
      run = await deployFunctions({ template, target, ids, ...environment });
      await scenario(run);
    } finally {
      output.stop();
    }
    const partial = { deployment: run.deployment, ids, requests: recorder.requests.slice(from) };
    const { verdicts, problems } = await evaluate({ ...partial, verdicts: [], problems: [] });
    return { ...partial, verdicts, problems };
  }

  describe('the sample app (infra/sample-stack.ts, delete mode)', () => {
    beforeAll(async () => {
      results.sample = await recordRun(deployable(sampleDeployment()), SAMPLE_USERS, async (run) => {
        secrets.putSecret('mailbox-poller/support', JSON.stringify({ password: USERS.support }));
        secrets.putSecret('mailbox-poller/invoices', USERS.invoices);
        await dovecot.seed('support', [message('support', 1), message('support', 2), large(3)]);
        await dovecot.seed('invoices', [message('invoices', 1)]);
        // Slot 1: the large message's first part is refused (its upload aborted, the job retried), and
        // the first notification batch is refused after its objects were stored.
        recorder.failNext((r) => r.caller === 'poll' && 'partNumber' in r.query, REFUSED);
        recorder.failNext((r) => r.caller === 'poll' && r.service === 'sqs', REFUSED);
        const first = await run.runSlot('2025-03-04T10:00:00Z');
        expect(first.batchItemFailures.length).toBeGreaterThan(0);
        // Slot 2: the rest is stored (the already stored ones found in place), notified, deleted.
        expect(await run.runSlot('2025-03-04T10:05:00Z')).toEqual({ batchItemFailures: [] });
        expect(await dovecot.messageCount('support')).toBe(0);
        expect(await dovecot.messageCount('invoices')).toBe(0);
      });
    }, 180_000);

    test('every recorded call is allowed', () => {
      expect(results.sample!.problems).toEqual([]);
    });

    test('the runs made the calls of every store path: multipart, abort, copy, found in place, retry delay', () => {
      expect(operationsOf(results.sample!, 'dispatch')).toEqual(['GetParameter', 'SendMessageBatch']);
      expect(operationsOf(results.sample!, 'poll')).toEqual(
        [
          ...['AbortMultipartUpload', 'ChangeMessageVisibility', 'CompleteMultipartUpload', 'CopyObject'],
          ...['CreateMultipartUpload', 'DeleteObject', 'GetObject', 'GetParameter', 'GetSecretValue'],
          ...['HeadObject', 'PutObject', 'SendMessageBatch', 'UploadPart'],
        ].sort(),
      );
    });

    test('without the grant on .incoming/, the calls it covered are listed with the statement they lack', async () => {
      const edited = withoutIdentityAction(results.sample!.deployment.template, 's3:AbortMultipartUpload');
      const { problems } = await evaluate(results.sample!, edited);
      expect(problems).toEqual([
        expect.stringMatching(
          /^poll: AbortMultipartUpload = s3:AbortMultipartUpload on arn:aws:s3:::mailboxpoller-ingestionbucket\w+\/mail\/\.incoming\/support\/[\w-]+ → ImplicitlyDenied: no statement allows it; missing in the role's policies \(IngestionPollRoleDefaultPolicy\w+\): \{"Effect":"Allow","Action":"s3:AbortMultipartUpload","Resource":"arn:aws:s3:::mailboxpoller-ingestionbucket\w+\/mail\/\.incoming\/support\/[\w-]+"\}$/,
        ),
      ]);
    });

    test('the same store writes without If-None-Match are refused by the bucket policy', async () => {
      // What a store that lost its conditional header would send: the recorded requests, header removed.
      const unconditional = results.sample!.requests.map((request) => {
        const { 'if-none-match': _, ...headers } = request.headers;
        return { ...request, headers };
      });
      const { problems } = await evaluate({ ...results.sample!, requests: unconditional });
      const refused = new Set(problems.map((line) => line.split(' = ')[0]));
      expect(refused).toEqual(new Set(['poll: PutObject', 'poll: CopyObject']));
      // A health record's first write loses its If-None-Match too; its own statement refuses it.
      const health = problems.filter((line) => line.includes('/mail/.health/'));
      expect(health.length).toBeGreaterThan(0);
      for (const line of health) {
        expect(line).toMatch(
          / → ExplicitlyDenied: denied by IngestionBucketPolicy\w+ statement "PollRoleWritesHealthOnlyConditionally" #\d$/,
        );
      }
      for (const line of problems.filter((line) => !line.includes('/mail/.health/'))) {
        expect(line).toMatch(
          / → ExplicitlyDenied: denied by IngestionBucketPolicy\w+ statement "PollRoleNeverOverwrites" #2$/,
        );
      }
    });

    test('a deny that also covered .incoming/ is named as the statement that refuses the multipart calls', async () => {
      const edited = withStatementChanged(
        results.sample!.deployment.template,
        'PollRoleNeverOverwrites',
        ({ NotResource: _, ...statement }) => ({
          ...statement,
          Resource: '*',
        }),
      );
      const { problems } = await evaluate(results.sample!, edited);
      const operations = problems.map((line) => line.split(' = ')[0]);
      // The health records' updates (If-Match, no If-None-Match) fall under it too: PutObject.
      expect(new Set(operations)).toEqual(
        new Set([
          'poll: CreateMultipartUpload',
          'poll: UploadPart',
          'poll: CompleteMultipartUpload',
          'poll: PutObject',
        ]),
      );
      for (const line of problems.filter((line) => line.startsWith('poll: PutObject'))) {
        expect(line).toContain('/mail/.health/');
      }
      for (const line of problems) {
        expect(line).toMatch(
          /→ ExplicitlyDenied: denied by IngestionBucketPolicy\w+ statement "PollRoleNeverOverwrites" #2$/,
        );
      }
    });
  });

  describe('a construct with keep-mode and OAuth2 mailboxes', () => {
    let refreshToken: string;

    beforeAll(async () => {
      results.keepOAuth = await recordRun(
        deployable(keepOAuthDeployment()),
        KEEP_OAUTH_USERS,
        async (run) => {
          secrets.putSecret('mail/archive', USERS.archive);
          refreshToken = tokens.grantRefreshToken('keeper', DESKTOP.clientId, 'pop');
          const delegated = {
            grant: 'refresh_token',
            clientId: DESKTOP.clientId,
            refreshToken,
            scope: 'pop',
          };
          secrets.putSecret('oauth/delegated', JSON.stringify({ ...delegated, tokenUrl: tokens.tokenUrl }));
          const app = { grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: tokens.tokenUrl };
          secrets.putSecret('oauth/app', JSON.stringify(app));
          await dovecot.seed('archive', [message('archive', 1), message('archive', 2)]);
          await dovecot.seed('keeper', [message('keeper', 1)]);
          await dovecot.seed('oauthuser', [message('app', 1)]);
          // S3 answers a missing key 403 when it does not weigh the role's ListBucket: the store lists it.
          const stateRead = (r: RecordedRequest) => r.method === 'GET' && r.path.includes('/.state/');
          recorder.failNext((r) => r.caller === 'poll' && stateRead(r), REFUSED);
          expect(await run.runSlot('2025-03-04T11:00:00Z')).toEqual({ batchItemFailures: [] });
          await dovecot.seed('archive', [message('archive', 3)]);
          await dovecot.seed('keeper', [message('keeper', 2)]);
          expect(await run.runSlot('2025-03-04T11:05:00Z')).toEqual({ batchItemFailures: [] });
          expect(await dovecot.messageCount('archive')).toBe(3);
          expect(await dovecot.messageCount('keeper')).toBe(2);
          expect(await dovecot.messageCount('oauthuser')).toBe(0);
        },
      );
    }, 180_000);

    test('every recorded call is allowed', () => {
      expect(results.keepOAuth!.problems).toEqual([]);
    });

    test('the runs listed, read and wrote the state conditionally, and wrote the rotated refresh token back', () => {
      expect(operationsOf(results.keepOAuth!, 'poll')).toEqual(
        [
          ...['GetObject', 'GetParameter', 'GetSecretValue', 'ListObjectsV2', 'PutObject'],
          ...['PutSecretValue', 'SendMessageBatch'],
        ].sort(),
      );
      const stateWrites = results
        .keepOAuth!.requests.filter((r) => r.method === 'PUT' && r.path.includes('/.state/'))
        .map((r) =>
          r.headers['if-match'] === undefined ? `If-None-Match: ${r.headers['if-none-match']}` : 'If-Match',
        );
      expect(stateWrites.sort()).toEqual(['If-Match', 'If-Match', 'If-None-Match: *', 'If-None-Match: *']);
      expect(secrets.writtenIds).toEqual(['oauth/delegated']);
      expect(JSON.parse(secrets.valueOf('oauth/delegated')).refreshToken).not.toBe(refreshToken);
    });

    test('without the state listing grant or the write-back grant, those calls are listed', async () => {
      const withoutList = withoutIdentityAction(results.keepOAuth!.deployment.template, 's3:ListBucket');
      const withoutWrite = withoutIdentityAction(withoutList, 'secretsmanager:PutSecretValue');
      const { problems } = await evaluate(results.keepOAuth!, withoutWrite);
      expect(problems.map((line) => line.split(' → ')[0]).sort()).toEqual([
        expect.stringMatching(
          /^poll: ListObjectsV2 = s3:ListBucket on arn:aws:s3:::keepoauth-mailbucket\w+ \[s3:prefix=mail\/\.state\/archive\.jsonl\.gz, s3:max-keys=1\]$/,
        ),
        expect.stringMatching(
          /^poll: PutSecretValue = secretsmanager:PutSecretValue on arn:aws:secretsmanager:us-east-1:123456789012:secret:oauth\/delegated-\w{6}$/,
        ),
      ]);
    });
  });

  describe('a construct with its config in S3 and a customer managed KMS key', () => {
    beforeAll(async () => {
      results.kms = await recordRun(
        deployable(kmsDeployment()),
        SAMPLE_USERS,
        async (run) => {
          secrets.putSecret('mailbox-poller/support', USERS.support);
          secrets.putSecret('mailbox-poller/invoices', USERS.invoices);
          await dovecot.seed('support', [message('kms', 1), large(2)]);
          await dovecot.seed('invoices', [message('kms', 3)]);
          expect(await run.runSlot('2025-03-04T12:00:00Z')).toEqual({ batchItemFailures: [] });
          expect(await dovecot.messageCount('support')).toBe(0);
        },
        { mailboxes: SAMPLE_MAILBOXES.map((mailbox) => ({ ...mailbox })) },
      );
    }, 180_000);

    test('every recorded call is allowed, with the key permissions S3 and SQS use on its behalf', () => {
      expect(results.kms!.problems).toEqual([]);
      expect(operationsOf(results.kms!, 'dispatch')).toEqual(['GetObject', 'SendMessageBatch']);
      const keyCalls = results.kms!.verdicts.filter((verdict) => verdict.call.action.startsWith('kms:'));
      const described = keyCalls.map(
        ({ caller, call }) => `${caller} ${call.action} ${call.context['kms:ViaService']}`,
      );
      expect([...new Set(described)].sort()).toEqual([
        'dispatch kms:Decrypt s3.us-east-1.amazonaws.com',
        'dispatch kms:Decrypt sqs.us-east-1.amazonaws.com',
        'dispatch kms:GenerateDataKey sqs.us-east-1.amazonaws.com',
        'poll kms:Decrypt s3.us-east-1.amazonaws.com',
        'poll kms:Decrypt sqs.us-east-1.amazonaws.com',
        'poll kms:GenerateDataKey s3.us-east-1.amazonaws.com',
        'poll kms:GenerateDataKey sqs.us-east-1.amazonaws.com',
      ]);
    });

    test('without kms:Decrypt, the config read, the multipart upload and the copy out of .incoming/ are listed', async () => {
      const edited = withoutIdentityAction(results.kms!.deployment.template, 'kms:Decrypt');
      const { problems } = await evaluate(results.kms!, edited);
      const operations = new Set(problems.map((line) => line.split(' = ')[0]));
      expect(operations).toEqual(
        new Set([
          "dispatch: GetObject (s3 on the caller's behalf)",
          "poll: GetObject (s3 on the caller's behalf)",
          "dispatch: SendMessageBatch (sqs on the caller's behalf)",
          "poll: SendMessageBatch (sqs on the caller's behalf)",
          "poll: CreateMultipartUpload (s3 on the caller's behalf)",
          "poll: UploadPart (s3 on the caller's behalf)",
          "poll: CompleteMultipartUpload (s3 on the caller's behalf)",
          "poll: CopyObject (s3 on the caller's behalf)",
        ]),
      );
    });
  });

  describe('a construct notifying through an EventBridge bus alone', () => {
    beforeAll(async () => {
      results.bus = await recordRun(deployable(eventBusDeployment()), SAMPLE_USERS, async (run) => {
        secrets.putSecret('mailbox-poller/support', USERS.support);
        secrets.putSecret('mailbox-poller/invoices', USERS.invoices);
        await dovecot.seed('support', [message('bus', 1), message('bus', 2)]);
        await dovecot.seed('invoices', [message('bus', 3)]);
        expect(await run.runSlot('2025-03-04T13:00:00Z')).toEqual({ batchItemFailures: [] });
        expect(await dovecot.messageCount('support')).toBe(0);
        expect(await dovecot.messageCount('invoices')).toBe(0);
        expect(bus.events.map((event) => event.eventBusName)).toEqual(
          Array(3).fill(`arn:aws:events:${TARGET.region}:${TARGET.account}:event-bus/mail-events`),
        );
      });
    }, 180_000);

    test('every recorded call is allowed; the poll function puts events and sends no notification to SQS', () => {
      expect(results.bus!.problems).toEqual([]);
      const operations = operationsOf(results.bus!, 'poll');
      expect(operations).toContain('PutEvents');
      expect(operations).not.toContain('SendMessageBatch');
    });

    test('without the PutEvents grant, each event put is listed', async () => {
      const edited = withoutIdentityAction(results.bus!.deployment.template, 'events:PutEvents');
      const { problems } = await evaluate(results.bus!, edited);
      expect(problems.length).toBeGreaterThan(0);
      for (const line of problems) {
        expect(line).toMatch(
          /^poll: PutEvents = events:PutEvents on arn:aws:events:us-east-1:123456789012:event-bus\/mail-events \[events:source=mailbox-poller, events:detail-type=Email Received\] → ImplicitlyDenied/,
        );
      }
    });
  });

  test('every action granted is used by the functions or by the Lambda service for them, but the listed excess', () => {
    const excess = grantsNoneUsed([results.sample!, results.keepOAuth!, results.kms!, results.bus!]);
    expect(excess.sort()).toEqual([
      // From the SqsEventSource's grantConsumeMessages: neither the code nor the event source mapping asks for it.
      'poll: sqs:GetQueueUrl',
    ]);
  });
});

const SAMPLE_USERS = { support: 'support', invoices: 'invoices' };
const KEEP_OAUTH_USERS = { archive: 'archive', delegated: 'keeper', app: 'oauthuser' };
