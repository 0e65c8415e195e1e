/**
 * The two Lambda handlers wired to real SDK clients, against an in-process SQS/S3 emulator: the config
 * comes from an S3 object (read by both functions), jobs go through a FIFO queue with real deduplication,
 * and a poll that cannot reach its server hands its job back with a delay.
 */
import { createServer } from 'node:net';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configVersionOf } from '../../../lib/lambda/config-source.ts';
import { encodeJob } from '../../../lib/lambda/job.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../../support/secrets-manager-endpoint.ts';

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;

const MAILBOXES = ['support', 'invoices', 'archive'].map((id) => ({
  id,
  host: 'pop.example.com',
  tls: 'implicit',
  username: `${id}@example.com`,
  password: { secretId: `mail/${id}` },
}));

function lambdaContext(remainingMs = 60_000): Context {
  return {
    getRemainingTimeInMillis: () => remainingMs,
    awsRequestId: 'req-1',
    functionName: 'test',
  } as Context;
}

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Lambda handlers against SQS and S3', () => {
  let fauxqs: Fauxqs;
  let sqs: SQSClient;
  let s3: S3Client;
  let secrets: SecretsManagerEndpoint;
  let jobQueueUrl: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    secrets = await startSecretsManagerEndpoint({ 'mail/unreachable': 'not-used' });
    jobQueueUrl = fauxqs.createQueue('jobs.fifo', { attributes: { FifoQueue: 'true' } }).queueUrl;
    const notificationQueueUrl = fauxqs.createQueue('notifications').queueUrl;
    fauxqs.createBucket('config');
    fauxqs.createBucket('mail');
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: fauxqs.address,
      CONFIG_BUCKET: 'config',
      CONFIG_KEY: 'mailboxes.json',
      JOB_QUEUE_URL: jobQueueUrl,
      SCHEDULE_PERIOD_SECONDS: '300',
      MESSAGE_BUCKET: 'mail',
      KEY_PREFIX: 'mail/',
      NOTIFICATION_QUEUE_URL: notificationQueueUrl,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    });
    s3 = new S3Client({ endpoint: fauxqs.address, forcePathStyle: true, region: 'us-east-1' });
    await s3.send(
      new PutObjectCommand({
        Bucket: 'config',
        Key: 'mailboxes.json',
        Body: JSON.stringify({ mailboxes: MAILBOXES }),
      }),
    );
    sqs = new SQSClient({ endpoint: fauxqs.address, region: 'us-east-1' });
  });

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([fauxqs?.stop(), secrets?.close()]);
  });

  async function receiveAll(): Promise<{ body: string; receiptHandle: string; messageId: string }[]> {
    const received = [];
    for (let i = 0; i < 5; i++) {
      const reply = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: jobQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const m of reply.Messages ?? [])
        received.push({ body: m.Body!, receiptHandle: m.ReceiptHandle!, messageId: m.MessageId! });
      if ((reply.Messages ?? []).length === 0) break;
    }
    return received;
  }

  it('dispatch queues one job per mailbox, and a retried dispatch of the same run adds none', async () => {
    const { handler } = await import('../../../functions/dispatch.ts');
    const first = await handler({ scheduledTime: '2025-03-04T10:05:00Z' }, lambdaContext());
    const retry = await handler({ scheduledTime: '2025-03-04T10:05:00Z' }, lambdaContext());
    expect(first).toEqual({
      slot: '2025-03-04T10:05:00.000Z',
      jobsSent: 3,
      batches: 1,
      configVersion: configVersionOf(JSON.stringify({ mailboxes: MAILBOXES })),
    });
    expect(retry).toEqual(first);
    const jobs = await receiveAll();
    expect(jobs.map((job) => JSON.parse(job.body).mailboxId).sort()).toEqual([
      'archive',
      'invoices',
      'support',
    ]);
  });

  it('poll hands back the job of an unreachable server with the backoff of its receive count', async () => {
    const { handler } = await import('../../../functions/poll.ts');
    // The job names the mailbox only: its settings come from the deployed config, read by the poll function.
    const text = JSON.stringify({
      mailboxes: [
        ...MAILBOXES,
        {
          id: 'unreachable',
          host: '127.0.0.1',
          port: await closedPort(),
          tls: 'implicit',
          username: 'u',
          password: { secretId: 'mail/unreachable' },
        },
      ],
    });
    await s3.send(new PutObjectCommand({ Bucket: 'config', Key: 'mailboxes.json', Body: text }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: jobQueueUrl,
        MessageBody: encodeJob('unreachable', new Date('2025-03-04T10:05:00Z'), configVersionOf(text)),
        MessageGroupId: 'unreachable',
        MessageDeduplicationId: 'unreachable@slot',
      }),
    );
    const [job] = await receiveAll();
    const event = {
      Records: [
        {
          messageId: job!.messageId,
          receiptHandle: job!.receiptHandle,
          body: job!.body,
          attributes: { ApproximateReceiveCount: '3' },
        },
      ],
    } as unknown as SQSEvent;
    const before = Date.now();
    const response = await handler(event, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: job!.messageId }] });
    // Third receive: 30 s × 2² = 120 s before SQS hands the job out again.
    const inflight = fauxqs
      .inspectQueue('jobs.fifo')!
      .messages.inflight.find((entry) => entry.receiptHandle === job!.receiptHandle);
    const delayMs = Number(inflight!.visibilityDeadline) - before;
    expect(delayMs).toBeGreaterThan(110_000);
    expect(delayMs).toBeLessThanOrEqual(121_000);
  });
});
