/**
 * The deployed poll function logs an outcome's message as one line too: the BUILT bundles
 * (test/support/lambda-harness.ts), a job from the built dispatch bundle on a FIFO queue, S3 + SQS
 * (fauxqs), a Secrets Manager stand-in, and a mailbox configured for implicit TLS whose port speaks plain
 * POP3, so the failure quotes OpenSSL's text, which ends in a line break.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { HINT_NO_TLS } from '../../lib/pipeline/connection-hints.ts';
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

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

let aws: Fauxqs;
let secrets: SecretsManagerEndpoint;
let plain: net.Server;
let outDir: string;
let poll: Handler;
let dispatch: Handler;
let jobQueueUrl: string;
let jobQueueArn: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'one-line-bundle-'));
  plain = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('+OK plain POP3 here\r\n');
  });
  let bundles: { poll: string; dispatch: string };
  [aws, secrets, bundles] = await Promise.all([
    startFauxqs(),
    startSecretsManagerEndpoint(),
    buildFunctionBundles(outDir),
    new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve)),
  ]);
  await Promise.all([aws.createBucket('mail'), aws.createBucket('config')]);
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
    MESSAGE_BUCKET: 'mail',
    KEY_PREFIX: 'mail/',
    NOTIFICATION_QUEUE_URL: await aws.createQueue('notifications'),
    JOB_MAX_RECEIVE_COUNT: '5',
    METRICS_NAMESPACE: 'MailboxPoller',
    POWERTOOLS_SERVICE_NAME: 'one-line-bundle-test',
  });
  secrets.putSecret('mailbox-poller/support', JSON.stringify({ password: 'unused-password' }));
  poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
  dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  const mailbox = {
    id: 'support',
    host: '127.0.0.1',
    port: (plain.address() as net.AddressInfo).port,
    tls: 'implicit',
    username: 'alice',
    password: { secretId: 'mailbox-poller/support' },
  };
  await (aws.s3 as S3Client).send(
    new PutObjectCommand({
      Bucket: 'config',
      Key: 'mailbox-poller/config.json',
      Body: JSON.stringify({ mailboxes: [mailbox] }),
    }),
  );
}, 180_000);

afterAll(async () => {
  process.env = savedEnv;
  plain?.close();
  await Promise.all([aws?.stop(), secrets?.close()]);
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('the built poll bundle logs a TLS failure quoting OpenSSL as one line, with the hint', {
  timeout: 120_000,
}, async () => {
  const dispatched = captureOutput();
  await dispatch
    .handler({ scheduledTime: '2026-03-01T10:00:00Z' }, lambdaContext('dispatch', 60_000))
    .finally(() => dispatched.stop());
  const { Messages: jobs = [] } = await aws.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: jobQueueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  expect(jobs).toHaveLength(1);
  const output = captureOutput();
  try {
    const event: SQSEvent = { Records: [sqsRecordOf(jobs[0] as Message, jobQueueArn)] };
    await poll.handler(event, lambdaContext('poll', 60_000));
  } finally {
    output.stop();
  }
  const failed = output.logs().find((entry) => entry['message'] === 'poll failed');
  expect(failed).toMatchObject({ mailboxId: 'support', status: 'failed', reason: 'tls' });
  const detail = String(failed?.['detail']);
  expect(detail).toContain(HINT_NO_TLS);
  expect(detail).toMatch(/wrong version number|packet length too long|record layer/);
  expect(detail).not.toMatch(/[\r\n]/);
});
