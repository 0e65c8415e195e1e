/**
 * The circuit breaker and the health record in the deployed poll function: the BUILT bundle
 * (test/support/lambda-harness.ts), jobs from the built dispatch bundle on a FIFO queue, Dovecot over
 * implicit TLS behind a TCP proxy that counts connections, S3 + SQS (fauxqs), a Secrets Manager stand-in.
 * A refused password is tried once; the next slots are held back without a connection, their jobs
 * deleted (no retries, no DLQ), each run still publishing MailboxHealth; the back-off passing allows one
 * more attempt; a new secret version is tried at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { decodeHealth, encodeHealth } from '../../lib/health/record.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  buildFunctionBundles,
  captureOutput,
  lambdaContext,
  sqsRecordOf,
} from '../support/lambda-harness.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

const PASSWORD = 'breaker-bundle-password-9041';
const BUCKET = 'mail';
const KEY_PREFIX = 'mail/';
const HEALTH_KEY = `${KEY_PREFIX}.health/breaker.json`;

let dovecot: DovecotServer;
let aws: Fauxqs;
let secrets: SecretsManagerEndpoint;
let proxy: TcpProxy;
let outDir: string;
let poll: Handler;
let dispatch: Handler;
let jobQueueUrl: string;
let jobQueueArn: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'health-bundle-'));
  let bundles: { poll: string; dispatch: string };
  [dovecot, aws, secrets, bundles] = await Promise.all([
    startDovecot({ users: [{ name: 'alice', password: PASSWORD }] }),
    startFauxqs(),
    startSecretsManagerEndpoint(),
    buildFunctionBundles(outDir),
  ]);
  proxy = await startTcpProxy({ target: { host: dovecot.host, port: dovecot.pop3sPort } });
  await Promise.all([aws.createBucket(BUCKET), aws.createBucket('config')]);
  jobQueueUrl = await aws.createQueue('jobs', {
    fifo: true,
    attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
  });
  jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
  Object.assign(process.env, aws.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    CONFIG_BUCKET: 'config',
    CONFIG_KEY: 'mailbox-poller/config.json',
    JOB_QUEUE_URL: jobQueueUrl,
    SCHEDULE_PERIOD_SECONDS: '300',
    MESSAGE_BUCKET: BUCKET,
    KEY_PREFIX,
    NOTIFICATION_QUEUE_URL: await aws.createQueue('notifications'),
    JOB_MAX_RECEIVE_COUNT: '5',
    METRICS_NAMESPACE: 'MailboxPoller',
    POWERTOOLS_SERVICE_NAME: 'health-bundle-test',
  });
  poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
  dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  const mailbox = {
    id: 'breaker',
    host: '127.0.0.1',
    port: proxy.port,
    tls: 'implicit',
    username: 'alice',
    password: { secretId: 'mailbox-poller/breaker' },
    ca: dovecot.caPem,
  };
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: 'config',
      Key: 'mailbox-poller/config.json',
      Body: JSON.stringify({ mailboxes: [mailbox] }),
    }),
  );
}, 180_000);

afterAll(async () => {
  process.env = savedEnv;
  await proxy?.close();
  await Promise.all([dovecot?.stop(), aws?.stop(), secrets?.close()]);
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** One schedule slot: dispatch, then the event source mapping (batch size 1) runs the poll bundle. */
async function slot(scheduledTime: string) {
  const dispatchOutput = captureOutput();
  await dispatch
    .handler({ scheduledTime }, lambdaContext('dispatch', 60_000))
    .finally(() => dispatchOutput.stop());
  const { Messages: jobs = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: jobQueueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  expect(jobs).toHaveLength(1);
  const job = jobs[0] as Message;
  const output = captureOutput();
  let response: SQSBatchResponse;
  try {
    const event: SQSEvent = { Records: [sqsRecordOf(job, jobQueueArn)] };
    response = (await poll.handler(event, lambdaContext('poll', 120_000))) as SQSBatchResponse;
  } finally {
    output.stop();
  }
  if (response.batchItemFailures.length === 0)
    await aws.sqs.send(new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job.ReceiptHandle }));
  const logs = output.logs();
  const emf = output.json().filter((doc) => '_aws' in doc);
  return {
    response,
    finished: logs.find((entry) =>
      ['poll finished', 'poll failed', 'poll incomplete, will retry'].includes(String(entry['message'])),
    ),
    /** The State of every MailboxHealth data point this run published. */
    healthStates: emf.filter((doc) => doc['MailboxHealth'] === 1).map((doc) => doc['State']),
    authFailures: emf.filter((doc) => doc['AuthFailures'] === 1).length,
    text: output.lines.join('\n'),
  };
}

async function healthRecord() {
  return decodeHealth('breaker', await aws.getObject(BUCKET, HEALTH_KEY));
}

test('the built poll bundle: a refused password is tried once, held back without a connection, tried again after the back-off or a new secret', {
  timeout: 120_000,
}, async () => {
  await dovecot.seed('alice', [Buffer.from('Subject: waits\r\n\r\nfor the right password\r\n')]);
  const wrong = 'not-the-password-77b2';
  secrets.putSecret('mailbox-poller/breaker', JSON.stringify({ password: wrong }));

  const first = await slot('2026-03-01T10:00:00Z');
  expect(first.response).toEqual({ batchItemFailures: [] });
  expect(first.finished).toMatchObject({
    message: 'poll failed',
    mailboxId: 'breaker',
    status: 'auth-failed',
    reason: 'auth',
    health: 'needs-attention',
    disposition: { action: 'delete', consumedBecause: 'auth-failed' },
  });
  expect(first.healthStates).toEqual(['needs-attention']);
  expect(first.authFailures).toBe(1);
  expect(proxy.connections).toBe(1);
  const opened = await healthRecord();
  expect(opened).toMatchObject({ state: 'needs-attention', failures: 1, reason: 'auth' });
  expect(Date.parse(opened.nextAttemptAt!) - Date.now()).toBeGreaterThan(59 * 60_000);
  expect(JSON.stringify(opened)).not.toContain(wrong);

  for (const at of ['2026-03-01T10:05:00Z', '2026-03-01T10:10:00Z']) {
    const held = await slot(at);
    expect(held.response).toEqual({ batchItemFailures: [] });
    expect(held.finished).toMatchObject({
      status: 'failed',
      reason: 'held-back',
      health: 'needs-attention',
      disposition: { action: 'delete', consumedBecause: 'needs-attention' },
    });
    expect(held.healthStates).toEqual(['needs-attention']);
    expect(held.authFailures).toBe(0);
  }
  expect(proxy.connections).toBe(1);
  // Held-back runs do not write the record.
  expect(await healthRecord()).toEqual(opened);

  // The back-off has passed (the record says so): one more attempt, refused, and the next waits 2 h.
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: HEALTH_KEY,
      Body: encodeHealth({ ...opened, nextAttemptAt: new Date(Date.now() - 1000).toISOString() }),
    }),
  );
  expect((await slot('2026-03-01T11:05:00Z')).finished).toMatchObject({ reason: 'auth' });
  expect(proxy.connections).toBe(2);
  const reopened = await healthRecord();
  expect(reopened).toMatchObject({ failures: 2, heldAttempts: 1 });
  expect(Date.parse(reopened.nextAttemptAt!) - Date.now()).toBeGreaterThan(119 * 60_000);

  // A new secret version: polled in the next slot, not after the back-off.
  secrets.putSecret('mailbox-poller/breaker', JSON.stringify({ password: PASSWORD }));
  const fixed = await slot('2026-03-01T11:10:00Z');
  expect(fixed.finished).toMatchObject({ message: 'poll finished', status: 'ok', health: 'ok' });
  expect(fixed.healthStates).toEqual(['ok']);
  expect(proxy.connections).toBe(3);
  expect(await dovecot.messageCount('alice')).toBe(0);
  expect(await healthRecord()).toMatchObject({ state: 'ok', failures: 0 });
  expect(fixed.text).not.toContain(PASSWORD);
});
