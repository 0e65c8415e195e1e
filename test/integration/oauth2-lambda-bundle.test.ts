/**
 * The BUILT poll handler (scripts/build.mjs) with OAuth2 mailboxes: deployed config in S3, jobs from the
 * built dispatch handler through the FIFO job queue (fauxqs), credential documents in the Secrets Manager
 * stand-in, tokens from the test token endpoint, and Dovecot checking every token by introspection.
 * Also: a 200 token answer the library refuses leaves no token in any log line, and its rotated refresh
 * token is written back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  buildFunctionBundles,
  type CapturedOutput,
  captureOutput,
  lambdaContext,
  sqsRecordOf,
} from '../support/lambda-harness.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const USER = 'oauthuser';
const APP = { clientId: 'poller-app', clientSecret: 'app-secret' };
const DESKTOP = { clientId: 'desktop-app' };
const CONFIG_BUCKET = 'config';
const message = (n: number) =>
  Buffer.from(`From: a@example.com\r\nSubject: lambda oauth ${n}\r\n\r\nbody ${n}\r\n`);

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

describe('the built poll handler with OAuth2 mailboxes', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let secrets: SecretsManagerEndpoint;
  let tokens: TokenEndpoint;
  let outDir: string;
  let poll: Handler;
  let dispatch: Handler;
  let jobQueueUrl: string;
  let jobQueueArn: string;
  let output: CapturedOutput;
  let slot = 0;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'oauth2-bundle-'));
    tokens = await startTokenEndpoint({ clients: [APP, DESKTOP] });
    let bundles: { poll: string; dispatch: string };
    [dovecot, aws, secrets, bundles] = await Promise.all([
      startDovecot({
        users: [{ name: USER, password: 'unused' }],
        oauth2IntrospectionUrl: `${tokens.url}/introspect`,
      }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      buildFunctionBundles(outDir),
    ]);
    await Promise.all([aws.createBucket('mail'), aws.createBucket(CONFIG_BUCKET)]);
    jobQueueUrl = await aws.createQueue('jobs', {
      fifo: true,
      attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    });
    jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
    const notificationQueueUrl = await aws.createQueue('notifications');
    Object.assign(process.env, aws.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CONFIG_BUCKET,
      CONFIG_KEY: 'mailbox-poller/config.json',
      JOB_QUEUE_URL: jobQueueUrl,
      SCHEDULE_PERIOD_SECONDS: '300',
      MESSAGE_BUCKET: 'mail',
      KEY_PREFIX: 'mail/',
      NOTIFICATION_QUEUE_URL: notificationQueueUrl,
      JOB_MAX_RECEIVE_COUNT: '5',
      METRICS_NAMESPACE: 'MailboxPoller',
      POWERTOOLS_SERVICE_NAME: 'oauth2-bundle-test',
    });
    poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
    dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  }, 120_000);

  beforeEach(async () => {
    await dovecot.clear(USER);
    tokens.setExpiresIn(3600);
    output = captureOutput();
  });
  afterEach(() => output.stop());

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dovecot?.stop(), aws?.stop(), secrets?.close(), tokens?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  function oauthMailbox(id: string, grant: string, secretId: string) {
    return {
      id,
      host: '127.0.0.1',
      port: dovecot.pop3sPort,
      tls: 'implicit',
      ca: dovecot.caPem,
      username: USER,
      oauth2: { grant, secret: { secretId } },
    };
  }

  /** Deploys the config, lets the built dispatcher queue a job, and runs the built poll handler on it. */
  async function pollOnce(mailbox: object): Promise<SQSBatchResponse> {
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: CONFIG_BUCKET,
        Key: process.env['CONFIG_KEY'],
        Body: JSON.stringify({ mailboxes: [mailbox] }),
      }),
    );
    const scheduledTime = new Date(Date.UTC(2025, 2, 4, 10, 0) + ++slot * 300_000).toISOString();
    await dispatch.handler({ scheduledTime }, lambdaContext('dispatch', 60_000));
    const reply = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: jobQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const [job, ...more] = reply.Messages ?? [];
    expect(more).toEqual([]);
    const record = sqsRecordOf(job!, jobQueueArn);
    const response = (await poll.handler(
      { Records: [record] } as SQSEvent,
      lambdaContext('poll', 300_000),
    )) as SQSBatchResponse;
    if (response.batchItemFailures.length === 0) {
      await aws.sqs.send(
        new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job!.ReceiptHandle }),
      );
    }
    return response;
  }

  const metric = (name: string) =>
    output
      .json()
      .filter((doc) => doc['_aws'] !== undefined && name in doc)
      .map((doc) => doc[name]);

  test('client credentials: drains the mailbox; a warm container reuses the token for the next run', async () => {
    secrets.putSecret(
      'oauth/app',
      JSON.stringify({ grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: tokens.tokenUrl }),
    );
    await dovecot.seed(USER, [message(1), message(2)]);
    const before = tokens.issued.length;
    expect(await pollOnce(oauthMailbox('app', 'client_credentials', 'oauth/app'))).toEqual({
      batchItemFailures: [],
    });
    expect(await dovecot.messageCount(USER)).toBe(0);
    expect((await aws.listKeys('mail', 'mail/app/')).length).toBe(2);

    await dovecot.seed(USER, [message(3)]);
    expect(await pollOnce(oauthMailbox('app', 'client_credentials', 'oauth/app'))).toEqual({
      batchItemFailures: [],
    });
    expect(await dovecot.messageCount(USER)).toBe(0);
    expect(tokens.issued.slice(before).map((r) => r.grantType)).toEqual(['client_credentials']);
  });

  test('refresh token: the rotated token is written back with PutSecretValue, and the next run uses it', async () => {
    const first = tokens.grantRefreshToken(USER, DESKTOP.clientId, 'pop');
    secrets.putSecret(
      'oauth/delegated',
      JSON.stringify({
        grant: 'refresh_token',
        clientId: DESKTOP.clientId,
        refreshToken: first,
        scope: 'pop',
        tokenUrl: tokens.tokenUrl,
      }),
    );
    // A token living 1 s: it lapses in the middle of the run (the session is already logged in), and is
    // renewed before the next run's login because it would not last until that run's deadline.
    tokens.setExpiresIn(1);
    await dovecot.seed(USER, [message(4), message(5)]);
    expect(await pollOnce(oauthMailbox('delegated', 'refresh_token', 'oauth/delegated'))).toEqual({
      batchItemFailures: [],
    });
    expect(await dovecot.messageCount(USER)).toBe(0);
    const stored = JSON.parse(secrets.valueOf('oauth/delegated')) as {
      refreshToken: string;
      clientId: string;
    };
    expect(secrets.writtenIds).toContain('oauth/delegated');
    expect(stored.refreshToken).not.toBe(first);
    expect(stored.clientId).toBe(DESKTOP.clientId);
    expect(tokens.isRefreshTokenValid(stored.refreshToken)).toBe(true);
    const rotated = output.json().find((entry) => entry['message'] === 'rotated OAuth2 refresh token stored');
    expect(rotated?.['secret']).toBe('secret "oauth/delegated"');
    expect(output.lines.join('\n')).not.toContain(stored.refreshToken);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    await dovecot.seed(USER, [message(6)]);
    expect(await pollOnce(oauthMailbox('delegated', 'refresh_token', 'oauth/delegated'))).toEqual({
      batchItemFailures: [],
    });
    expect(await dovecot.messageCount(USER)).toBe(0);
    // The second run spent the token the first one stored (the old one would have got invalid_grant).
    expect(tokens.isRefreshTokenValid(stored.refreshToken)).toBe(false);
    expect(JSON.parse(secrets.valueOf('oauth/delegated')).refreshToken).not.toBe(stored.refreshToken);
  });

  test('a 200 answer the token library refuses: no token in any log line; its rotated refresh token is written back', async () => {
    await dovecot.seed(USER, [message(8)]);
    for (const how of ['scope-array', 'no-token-type', 'unknown-token-type'] as const) {
      const spent = tokens.grantRefreshToken(USER, DESKTOP.clientId, 'pop');
      const secretId = `oauth/spoiled-${how}`;
      secrets.putSecret(
        secretId,
        JSON.stringify({
          grant: 'refresh_token',
          clientId: DESKTOP.clientId,
          refreshToken: spent,
          scope: 'pop',
          tokenUrl: tokens.tokenUrl,
        }),
      );
      tokens.malformNext(how);
      const lines = output.lines.length;
      await pollOnce(oauthMailbox(`spoiled-${how}`, 'refresh_token', secretId));
      const logged = output.lines.slice(lines).join('\n');
      const rotated = (JSON.parse(secrets.valueOf(secretId)) as { refreshToken: string }).refreshToken;
      // Written back: the endpoint retired the one we sent, and the one it rotated to is stored and live.
      expect(rotated).not.toBe(spent);
      expect(tokens.isRefreshTokenValid(spent)).toBe(false);
      expect(tokens.isRefreshTokenValid(rotated)).toBe(true);
      // The run failed and was logged with its cause chain, which holds no token, body or JWT.
      expect(logged).toContain('mailbox run failed');
      expect(logged).toContain('not a valid token response');
      expect(logged).toContain(`was written back to secret \\"${secretId}\\"`);
      for (const text of [spent, rotated, 'rt-', 'eyJ', 'access_token', 'refresh_token', '"body"'])
        expect(logged).not.toContain(text);
    }
    // The mailbox was never opened with a token from a refused answer.
    expect(await dovecot.messageCount(USER)).toBe(1);
  });

  test('invalid_grant: auth-revoked, the AuthRevoked metric, the job dropped after one token request', async () => {
    secrets.putSecret(
      'oauth/revoked',
      JSON.stringify({
        grant: 'refresh_token',
        clientId: DESKTOP.clientId,
        refreshToken: 'rt-withdrawn',
        scope: 'pop',
        tokenUrl: tokens.tokenUrl,
      }),
    );
    await dovecot.seed(USER, [message(7)]);
    const requests = tokens.tokenRequests;
    const response = await pollOnce(oauthMailbox('revoked', 'refresh_token', 'oauth/revoked'));
    expect(response).toEqual({ batchItemFailures: [] });
    expect(tokens.tokenRequests - requests).toBe(1);
    expect(await dovecot.messageCount(USER)).toBe(1);
    const failed = output.json().find((entry) => entry['message'] === 'poll failed');
    expect(failed).toMatchObject({
      status: 'auth-failed',
      reason: 'auth-revoked',
      disposition: { action: 'delete', consumedBecause: 'auth-revoked' },
    });
    expect(String(failed?.['detail'])).toContain('invalid_grant');
    expect(metric('AuthRevoked')).toContain(1);
    const jobsLeft = await aws.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: jobQueueUrl, WaitTimeSeconds: 0 }),
    );
    expect(jobsLeft.Messages ?? []).toEqual([]);
  });
});
