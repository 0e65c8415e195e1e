/**
 * The BUILT poll handler (scripts/build.mjs) with an EventBridge bus as notification target, against
 * Dovecot over implicit TLS, S3 and SQS (fauxqs) and a recording PutEvents stand-in
 * (test/support/eventbridge-endpoint.ts) with per-entry failures injected. The commit order holds per
 * entry: a message whose event was not accepted is not DELE'd, the others are; the event's detail is the
 * queue's message body for the same message; with the bus alone, no queue is needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { ReceivedNotification } from '../../lib/notification/types.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
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

const USERS = { both: 'both-pop3-password', busonly: 'busonly-pop3-password' };
const CONFIG_BUCKET = 'config';
const EVENT_BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/mail-events';
const message = (subject: string) =>
  Buffer.from(
    `From: a@example.com\r\nTo: invoices@example.com\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`,
  );

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

const subjectOf = (detail: string) =>
  (JSON.parse(detail) as ReceivedNotification).mail.commonHeaders.subject ?? '';

describe('the built poll handler with an EventBridge bus', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let secrets: SecretsManagerEndpoint;
  let bus: EventBridgeEndpoint;
  let outDir: string;
  let pollBundle: string;
  let dispatch: Handler;
  let jobQueueUrl: string;
  let jobQueueArn: string;
  let notificationQueueUrl: string;
  let output: CapturedOutput;
  let slot = 0;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'eventbridge-bundle-'));
    let bundles: { poll: string; dispatch: string };
    [dovecot, aws, secrets, bus, bundles] = await Promise.all([
      startDovecot({ users: Object.entries(USERS).map(([name, password]) => ({ name, password })) }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      startEventBridgeEndpoint(),
      buildFunctionBundles(outDir),
    ]);
    pollBundle = pathToFileURL(bundles.poll).href;
    await Promise.all([aws.createBucket('mail'), aws.createBucket(CONFIG_BUCKET)]);
    jobQueueUrl = await aws.createQueue('jobs', {
      fifo: true,
      attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    });
    jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
    notificationQueueUrl = await aws.createQueue('notifications');
    for (const [user, password] of Object.entries(USERS))
      secrets.putSecret(`mailbox-poller/${user}`, password);
    Object.assign(process.env, aws.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      CONFIG_BUCKET,
      CONFIG_KEY: 'mailbox-poller/config.json',
      JOB_QUEUE_URL: jobQueueUrl,
      SCHEDULE_PERIOD_SECONDS: '300',
      MESSAGE_BUCKET: 'mail',
      KEY_PREFIX: 'mail/',
      EVENT_BUS_NAME: EVENT_BUS,
      JOB_MAX_RECEIVE_COUNT: '5',
      METRICS_NAMESPACE: 'MailboxPoller',
      POWERTOOLS_SERVICE_NAME: 'eventbridge-bundle-test',
    });
    dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  }, 120_000);

  beforeEach(() => {
    bus.events.length = 0;
    bus.failed.length = 0;
    bus.calls.length = 0;
    bus.failEntries(undefined);
    output = captureOutput();
  });
  afterEach(() => output.stop());

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dovecot?.stop(), aws?.stop(), secrets?.close(), bus?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /**
   * A container of its own: the bundle imported afresh (its clients and ports live for the module, as in
   * a Lambda container), with the notification queue set or not.
   */
  async function container(name: string, queue: boolean): Promise<Handler> {
    if (queue) process.env['NOTIFICATION_QUEUE_URL'] = notificationQueueUrl;
    else delete process.env['NOTIFICATION_QUEUE_URL'];
    return (await import(`${pollBundle}?${name}`)) as Handler;
  }

  /** Deploys the config, lets the built dispatcher queue a job, and runs the built poll handler on it. */
  async function pollOnce(poll: Handler, user: keyof typeof USERS): Promise<SQSBatchResponse> {
    const mailbox = {
      id: user,
      host: '127.0.0.1',
      port: dovecot.pop3sPort,
      tls: 'implicit',
      ca: dovecot.caPem,
      username: user,
      password: { secretId: `mailbox-poller/${user}` },
    };
    const Body = JSON.stringify({ mailboxes: [mailbox] });
    await aws.s3.send(new PutObjectCommand({ Bucket: CONFIG_BUCKET, Key: process.env['CONFIG_KEY'], Body }));
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
    const response = (await poll.handler(
      { Records: [sqsRecordOf(job!, jobQueueArn)] } as SQSEvent,
      lambdaContext('poll', 300_000),
    )) as SQSBatchResponse;
    await aws.sqs.send(
      new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job!.ReceiptHandle }),
    );
    return response;
  }

  test('queue and bus: no DELE for a message whose event failed; the event detail is the queue body', async () => {
    const poll = await container('queue-and-bus', true);
    await dovecot.seed('both', ['one', 'two', 'three', 'four'].map(message));
    bus.failEntries((event) =>
      ['two', 'four'].includes(subjectOf(event.detail))
        ? { code: 'InvalidArgument', message: 'refused' }
        : undefined,
    );

    await pollOnce(poll, 'both');

    // Stored and queued, all four; on the bus, two; deleted, those two only.
    expect(await dovecot.messageCount('both')).toBe(2);
    expect((await aws.listKeys('mail', 'mail/both/')).length).toBe(4);
    const queued = await aws.receiveAll(notificationQueueUrl);
    expect(queued.map((m) => subjectOf(m.Body!)).sort()).toEqual(['four', 'one', 'three', 'two']);
    expect(bus.events.map((event) => subjectOf(event.detail)).sort()).toEqual(['one', 'three']);
    expect(bus.failed.map((event) => subjectOf(event.detail)).sort()).toEqual(['four', 'two']);
    for (const event of bus.events) {
      expect(event).toMatchObject({
        eventBusName: EVENT_BUS,
        source: 'mailbox-poller',
        detailType: 'Email Received',
      });
      const body = queued.find((m) => subjectOf(m.Body!) === subjectOf(event.detail))?.Body;
      expect(event.detail).toBe(body);
    }

    // The bus takes them next run: deleted then, and queued again (at-least-once on the queue).
    bus.failEntries(undefined);
    await pollOnce(poll, 'both');
    expect(await dovecot.messageCount('both')).toBe(0);
    expect(bus.events.map((event) => subjectOf(event.detail)).sort()).toEqual([
      'four',
      'one',
      'three',
      'two',
    ]);
    expect((await aws.receiveAll(notificationQueueUrl)).map((m) => subjectOf(m.Body!)).sort()).toEqual([
      'four',
      'two',
    ]);
    expect((await aws.listKeys('mail', 'mail/both/')).length).toBe(4);
  });

  test('bus alone: no queue set, each message put on the bus and deleted; throttled entries retried', async () => {
    const poll = await container('bus-only', false);
    await dovecot.seed('busonly', ['five', 'six', 'seven'].map(message));
    bus.failEntries((event, attempt) =>
      subjectOf(event.detail) === 'six' && attempt === 0
        ? { code: 'ThrottlingException', message: 'slow' }
        : undefined,
    );

    expect(await pollOnce(poll, 'busonly')).toEqual({ batchItemFailures: [] });

    expect(await dovecot.messageCount('busonly')).toBe(0);
    expect(bus.events.map((event) => subjectOf(event.detail)).sort()).toEqual(['five', 'seven', 'six']);
    expect(bus.calls).toEqual([3, 1]);
    expect(await aws.receiveAll(notificationQueueUrl)).toEqual([]);
  });

  test('bus alone: a bus that refuses every call keeps every message on the server', async () => {
    const poll = await container('bus-refusing', false);
    await dovecot.clear('busonly');
    await dovecot.seed('busonly', ['eight', 'nine'].map(message));
    bus.failCalls(1000, { status: 400, type: 'AccessDeniedException' });

    await pollOnce(poll, 'busonly');

    bus.failCalls(0, { status: 400, type: 'AccessDeniedException' });
    expect(await dovecot.messageCount('busonly')).toBe(2);
    expect(bus.events).toEqual([]);
    expect((await aws.listKeys('mail', 'mail/busonly/')).length).toBe(5);
  });
});
