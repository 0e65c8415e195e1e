/**
 * The bytes that are deployed: the handlers as bundled by scripts/build.mjs, imported from the built
 * files and invoked the way Lambda invokes them (a Scheduler event for dispatch; an SQS event of batch
 * size 1 for poll, taken from the FIFO job queue as the event source mapping does), against a real Dovecot
 * over implicit TLS, S3 and SQS (fauxqs) and a Secrets Manager stand-in, all through the bundled SDK. Both
 * functions read the deployed config (an S3 object, or an SSM parameter through a stand-in endpoint); a job
 * only names a mailbox, and forged jobs are sent straight to the queue to show they are dropped unpolled.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { configVersionOf } from '../../lib/lambda/config-source.ts';
import { POLL_SAFETY_MARGIN_MS } from '../../lib/lambda/env.ts';
import type { ReceivedNotification } from '../../lib/notification/types.ts';
import { synth } from '../infra/synth-helpers.ts';
import { contributorsOf, insightRuleOf } from '../support/contributor-insights.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  buildFunctionBundles,
  captureOutput,
  lambdaContext,
  sqsRecordOf,
} from '../support/lambda-harness.ts';
import { startLyingServer } from '../support/lying-pop3-server.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { servedByDovecot } from '../support/served.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/** The size budget scripts/build.mjs checks every function bundle against (MAX_FUNCTION_BYTES there). */
const MAX_FUNCTION_BYTES = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface PollModule {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
}
interface DispatchModule {
  handler(event: unknown, context: Context): Promise<{ slot: string; jobsSent: number; batches: number }>;
}

const USERS = {
  drain: 'drain-pop3-password',
  wrong: 'wrong-pop3-password',
  slow: 'slow-pop3-password',
  fine: 'fine-pop3-password',
  batch: 'batch-pop3-password',
  keep: 'keep-pop3-password',
  neighbour: 'neighbour-pop3-password',
};
const SERVICE_NAME = 'bundle-test';
const MESSAGE_BUCKET = 'mail';
const CONFIG_BUCKET = 'config';
const KEY_PREFIX = 'mail/';

/** A stand-in SSM endpoint answering GetParameter, so the dispatch bundle's SSM client is exercised too. */
async function startSsmEndpoint(parameters: Record<string, string>) {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { Name } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Name: string };
      const value =
        request.headers['x-amz-target'] === 'AmazonSSM.GetParameter' ? parameters[Name] : undefined;
      response.writeHead(value === undefined ? 400 : 200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify(
          value === undefined
            ? { __type: 'ParameterNotFound', message: `${Name} not found` }
            : { Parameter: { Name, Type: 'String', Value: value, Version: 1 } },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP listener that records every connection made to it: a forged job must never reach it. */
async function startConnectionRecorder() {
  const connections: string[] = [];
  const server = createNetServer((socket) => {
    connections.push(`${socket.remoteAddress}:${socket.remotePort}`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeWithCorpus('the built Lambda bundles', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let secrets: SecretsManagerEndpoint;
  let outDir: string;
  let poll: PollModule;
  let dispatch: DispatchModule;
  let jobQueueUrl: string;
  let jobQueueArn: string;
  let notificationQueueUrl: string;
  let output: ReturnType<typeof captureOutput>;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'lambda-bundles-'));
    let bundles: { poll: string; dispatch: string };
    [dovecot, aws, secrets, bundles] = await Promise.all([
      startDovecot({ users: Object.entries(USERS).map(([name, password]) => ({ name, password })) }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      buildFunctionBundles(outDir),
    ]);
    await Promise.all([aws.createBucket(MESSAGE_BUCKET), aws.createBucket(CONFIG_BUCKET)]);
    jobQueueUrl = await aws.createQueue('jobs', {
      fifo: true,
      attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    });
    jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
    notificationQueueUrl = await aws.createQueue('notifications');
    // The environment the construct gives the functions (infra/mailbox-ingestion.ts), set before the
    // bundles are imported because their clients are made at module load, as in a Lambda container.
    Object.assign(process.env, aws.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CONFIG_BUCKET,
      CONFIG_KEY: 'mailbox-poller/config.json',
      JOB_QUEUE_URL: jobQueueUrl,
      SCHEDULE_PERIOD_SECONDS: '300',
      MESSAGE_BUCKET,
      KEY_PREFIX,
      NOTIFICATION_QUEUE_URL: notificationQueueUrl,
      JOB_MAX_RECEIVE_COUNT: '5',
      METRICS_NAMESPACE: 'MailboxPoller',
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    });
    poll = (await import(pathToFileURL(bundles.poll).href)) as PollModule;
    dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as DispatchModule;
  });

  // Everything the handlers print during a test is kept for its assertions instead of going to the console.
  beforeEach(() => {
    output = captureOutput();
  });
  afterEach(() => output.stop());

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dovecot?.stop(), aws?.stop(), secrets?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  /** A deployed config entry: the password is a Secrets Manager reference, the CA travels in `ca`. */
  function mailbox(id: string, user: string, options: { port?: number; secretId?: string } = {}) {
    return {
      id,
      host: '127.0.0.1',
      port: options.port ?? dovecot.pop3sPort,
      tls: 'implicit',
      username: user,
      password: { secretId: options.secretId ?? `mailbox-poller/${id}` },
      ca: dovecot.caPem,
    };
  }

  async function writeConfig(mailboxes: object[]): Promise<void> {
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: CONFIG_BUCKET,
        Key: process.env['CONFIG_KEY'],
        Body: JSON.stringify({ mailboxes }),
      }),
    );
  }

  /** What EventBridge Scheduler sends (the construct's target input). */
  function dispatchAt(scheduledTime: string) {
    return dispatch.handler({ scheduledTime }, lambdaContext('dispatch', 60_000));
  }

  /** Receives the jobs now visible, without deleting them (the event source mapping deletes). */
  async function receiveJobs(): Promise<Message[]> {
    const received: Message[] = [];
    for (;;) {
      const reply = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: jobQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if ((reply.Messages ?? []).length === 0) return received;
      received.push(...reply.Messages!);
    }
  }

  /** The event source mapping with batch size 1: invoke, then delete the job unless it was reported failed. */
  async function pollJob(job: Message, budgetMs = 300_000) {
    const record = sqsRecordOf(job, jobQueueArn);
    const started = performance.now();
    const response = await poll.handler({ Records: [record] }, lambdaContext('poll', budgetMs));
    const elapsedMs = performance.now() - started;
    if (!response.batchItemFailures.some((failure) => failure.itemIdentifier === record.messageId)) {
      await aws.sqs.send(
        new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job.ReceiptHandle }),
      );
    }
    return { record, response, elapsedMs };
  }

  /** The event source mapping with a batch: one invocation, then every job not reported failed deleted. */
  async function pollBatch(jobs: readonly Message[]) {
    const records = jobs.map((job) => sqsRecordOf(job, jobQueueArn));
    const response = await poll.handler({ Records: records }, lambdaContext('poll', 300_000));
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const job of jobs) {
      if (failed.has(job.MessageId!)) continue;
      await aws.sqs.send(
        new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job.ReceiptHandle }),
      );
    }
    return response;
  }

  async function dispatchAndReceive(scheduledTime: string, mailboxes: object[]): Promise<Message[]> {
    await writeConfig(mailboxes);
    await dispatchAt(scheduledTime);
    return receiveJobs();
  }

  /** Objects under the mailbox's prefix, by SHA-256 of their bytes. */
  async function storedObjects(mailboxId: string): Promise<Map<string, Buffer>> {
    const objects = new Map<string, Buffer>();
    for (const key of await aws.listKeys(MESSAGE_BUCKET, `${KEY_PREFIX}${mailboxId}/`)) {
      const bytes = await aws.getObject(MESSAGE_BUCKET, key);
      objects.set(sha256(bytes), bytes);
    }
    return objects;
  }

  async function notificationsFor(mailboxId: string): Promise<ReceivedNotification[]> {
    const received = await aws.receiveAll(notificationQueueUrl);
    return received
      .filter((message) => message.MessageAttributes?.['mailboxId']?.StringValue === mailboxId)
      .map((message) => JSON.parse(message.Body!) as ReceivedNotification);
  }

  test('the poll bundle stays within its 1 MiB budget, with libmime beside it for rare charsets', () => {
    const functions = path.join(outDir, 'functions/poll');
    expect(statSync(path.join(functions, 'poll.mjs')).size).toBeLessThanOrEqual(MAX_FUNCTION_BYTES);
    expect(readFileSync(path.join(functions, 'node_modules/libmime/package.json'), 'utf8')).toContain(
      '"main": "index.cjs"',
    );
  });

  test('the bundles carry the config validator compiled at build time, not ajv and its compiler', () => {
    for (const name of ['poll', 'dispatch']) {
      const code = readFileSync(path.join(outDir, `functions/${name}/${name}.mjs`), 'utf8');
      expect(code).not.toContain('Ajv2020');
      expect(code).toContain('compileConfigValidator');
    }
  });

  test('a job drains its mailbox: byte-identical objects, one notification each, mailbox empty', async () => {
    const corpus = loadCorpus();
    const named = [
      'mimekit__UnitTests__TestData__messages__japanese.txt.eml',
      'spamassassin__t__data__nice__cjk__gb2312.2.eml',
      'spamassassin__t__data__mime-subject.txt.eml',
      'spamassassin__t__data__nice__unicode2.eml',
    ];
    const others = corpus.filter((message) => !named.includes(message.name)).filter((_, i) => i % 11 === 0);
    const chosen = [...corpus.filter((message) => named.includes(message.name)), ...others].slice(0, 20);
    expect(chosen).toHaveLength(20);
    const seeded = chosen.map((message) => toCrlf(message.bytes));
    await dovecot.seed('drain', seeded);
    secrets.putSecret('mailbox-poller/drain', JSON.stringify({ password: USERS.drain }));
    // Referenced by ARN, as a config naming secrets of another stack would.
    const secretId = secrets.arnOf('mailbox-poller/drain');

    const [job, ...more] = await dispatchAndReceive('2025-03-04T10:00:00Z', [
      mailbox('drain', 'drain', { secretId }),
    ]);
    expect(more).toEqual([]);
    const { response } = await pollJob(job!);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await dovecot.messageCount('drain')).toBe(0);
    const objects = await storedObjects('drain');
    const served = seeded.map(servedByDovecot);
    expect([...objects.keys()].sort()).toEqual(served.map(sha256).sort());
    for (const bytes of served) expect(objects.get(sha256(bytes))!.equals(bytes)).toBe(true);

    const notifications = await notificationsFor('drain');
    expect(notifications).toHaveLength(seeded.length);
    expect(new Set(notifications.map((n) => n.pop3.sha256))).toEqual(new Set(objects.keys()));
    const subjects = notifications.map((n) => n.mail.commonHeaders.subject);
    expect(subjects).toContain('日本語メールテスト (testing Japanese emails)');
    expect(subjects).toContain('RE: 装硬碟问题');
    expect(subjects).toContain('[Demuseum] Re: Multimedia für Preussen');

    const finished = output.logs().find((entry) => entry['message'] === 'poll finished');
    expect(finished).toMatchObject({
      level: 'INFO',
      service: SERVICE_NAME,
      mailboxId: 'drain',
      status: 'ok',
      counts: { found: 20, stored: 20, notified: 20, deleted: 20, left: 0 },
    });
    expect(output.logs().filter((entry) => entry['level'] !== 'INFO')).toEqual([]);
    const metrics = output.lines.filter((line) => line.includes('"CloudWatchMetrics"'));
    expect(metrics.map((line) => JSON.parse(line)['MessagesRetrieved'])).toContain(20);
    // Written by Powertools Metrics: the dimension set the alarms watch, and no `service` of its own. No
    // MailboxId: PER_MAILBOX_METRICS is not set, and per-mailbox metrics are off unless asked for.
    const [run] = metrics.map((line) => JSON.parse(line));
    expect(run._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Service']]);
    expect(run).toMatchObject({ Service: SERVICE_NAME });
    expect(run).not.toHaveProperty('MailboxId');
    expect(run).not.toHaveProperty('service');
  });

  test('a dispatch queues one FIFO job per mailbox, and a second one for the same time adds none', async () => {
    const mailboxes = ['support', 'invoices', 'archive'].map((id) => mailbox(id, id));
    await writeConfig(mailboxes);
    const first = await dispatchAt('2025-03-04T10:07:30Z');
    const again = await dispatchAt('2025-03-04T10:07:30Z');
    const configVersion = configVersionOf(JSON.stringify({ mailboxes }));
    expect(first).toEqual({ slot: '2025-03-04T10:05:00.000Z', jobsSent: 3, batches: 1, configVersion });
    expect(again).toEqual(first);

    const jobs = await aws.receiveAll(jobQueueUrl);
    expect(jobs).toHaveLength(3);
    const byGroup = new Map(jobs.map((job) => [job.Attributes?.MessageGroupId, job]));
    expect([...byGroup.keys()].sort()).toEqual(['archive', 'invoices', 'support']);
    for (const [id, job] of byGroup) {
      expect(job.Attributes?.MessageDeduplicationId).toBe(`${id}@2025-03-04T10:05:00.000Z`);
      // The job identifies the work and carries no setting: no host, no CA, no secret reference.
      expect(JSON.parse(job.Body!)).toEqual({
        version: 2,
        mailboxId: id,
        slot: '2025-03-04T10:05:00.000Z',
        configVersion,
      });
    }
    // Even after the jobs were taken and deleted, the same slot is not queued again.
    await dispatchAt('2025-03-04T10:09:59Z');
    expect(await aws.receiveAll(jobQueueUrl)).toEqual([]);
  });

  test('a config kept in an SSM parameter is read by dispatch and by poll, which drains the mailbox', async () => {
    await dovecot.seed('fine', [Buffer.from('Subject: via ssm\r\n\r\nhello\r\n')]);
    secrets.putSecret('mailbox-poller/from-ssm', USERS.fine);
    const text = JSON.stringify({ mailboxes: [mailbox('from-ssm', 'fine')] });
    const ssm = await startSsmEndpoint({ '/mailbox-poller/config': text });
    const saved = { bucket: process.env['CONFIG_BUCKET'], key: process.env['CONFIG_KEY'] };
    try {
      delete process.env['CONFIG_BUCKET'];
      delete process.env['CONFIG_KEY'];
      Object.assign(process.env, {
        CONFIG_PARAMETER: '/mailbox-poller/config',
        AWS_ENDPOINT_URL_SSM: ssm.endpoint,
      });
      expect(await dispatchAt('2025-03-04T11:00:00Z')).toMatchObject({
        jobsSent: 1,
        configVersion: configVersionOf(text),
      });
      const jobs = await receiveJobs();
      expect(jobs.map((job) => job.Attributes?.MessageGroupId)).toEqual(['from-ssm']);
      expect((await pollJob(jobs[0]!)).response).toEqual({ batchItemFailures: [] });
      expect(ssm.requests).toBe(2);
    } finally {
      delete process.env['CONFIG_PARAMETER'];
      Object.assign(process.env, { CONFIG_BUCKET: saved.bucket, CONFIG_KEY: saved.key });
      await ssm.close();
    }
    expect(await dovecot.messageCount('fine')).toBe(0);
    expect(output.logs().find((entry) => entry['message'] === 'poll finished')).toMatchObject({
      mailboxId: 'from-ssm',
      counts: { stored: 1, deleted: 1 },
    });
  });

  test('forged jobs are dropped unpolled: no connection, no secret read, a warning and a metric each', async () => {
    const recorder = await startConnectionRecorder();
    try {
      await writeConfig([mailbox('deployed', 'fine')]);
      const slot = '2025-03-04T12:00:00.000Z';
      // A version as a dispatcher would send it, so that only the forged parts differ.
      const configVersion = configVersionOf(JSON.stringify({ mailboxes: [mailbox('deployed', 'fine')] }));
      const foreign = { host: '127.0.0.1', port: recorder.port, tls: 'none', allowInsecureAuth: true };
      const forged: [string, 'bad-job' | 'unknown-mailbox', object][] = [
        [
          // Format 1, as the issue describes it: the function's own AWS secret key as the password.
          'env-ref password',
          'bad-job',
          {
            version: 1,
            slot,
            mailbox: {
              id: 'deployed',
              username: 'x',
              password: { env: 'AWS_SECRET_ACCESS_KEY' },
              auth: 'user',
              ...foreign,
            },
          },
        ],
        [
          'literal password',
          'bad-job',
          {
            version: 2,
            mailboxId: 'deployed',
            slot,
            configVersion,
            password: { literal: 'guess' },
            ...foreign,
          },
        ],
        ['unknown id', 'unknown-mailbox', { version: 2, mailboxId: 'intruder', slot, configVersion }],
        [
          'foreign host and port',
          'bad-job',
          { version: 2, mailboxId: 'deployed', slot, configVersion, host: '127.0.0.1', port: recorder.port },
        ],
      ];
      // The recorder does see a connection: one of our own, made and forgotten before the forged jobs.
      await new Promise<void>((resolve, reject) =>
        connect(recorder.port, '127.0.0.1')
          .once('close', () => resolve())
          .once('error', reject),
      );
      expect(recorder.connections).toHaveLength(1);
      recorder.connections.length = 0;
      const secretReads = secrets.requestedIds.length;
      for (const [name, reason, body] of forged) {
        await aws.sqs.send(
          new SendMessageCommand({
            QueueUrl: jobQueueUrl,
            MessageBody: JSON.stringify(body),
            MessageGroupId: `forged-${reason}`,
            MessageDeduplicationId: name.replaceAll(' ', '-'),
          }),
        );
        const [job, ...more] = await receiveJobs();
        expect(more).toEqual([]);
        const before = output.lines.length;
        const { response } = await pollJob(job!);
        const lines = output.lines.slice(before);

        expect(response, name).toEqual({ batchItemFailures: [] });
        const logged = lines.filter((line) => line.includes('"job dropped"')).map((line) => JSON.parse(line));
        expect(logged, name).toEqual([
          expect.objectContaining({
            level: 'WARN',
            reason,
            jobMessageId: job!.MessageId,
            disposition: { action: 'delete', consumedBecause: reason },
          }),
        ]);
        const metrics = lines
          .filter((line) => line.includes('"DroppedJobs"'))
          .map((line) => JSON.parse(line));
        expect(metrics, name).toEqual([expect.objectContaining({ DroppedJobs: 1, Reason: reason })]);
        expect(
          lines.some((line) => line.includes('poll started')),
          name,
        ).toBe(false);
      }
      // Deleted, not handed back: nothing is left to be received again.
      expect(await receiveJobs()).toEqual([]);
      expect(recorder.connections).toEqual([]);
      expect(secrets.requestedIds.length).toBe(secretReads);
      expect(output.lines.join('\n')).not.toContain('AWS_SECRET_ACCESS_KEY');
    } finally {
      await recorder.close();
    }
  });

  test('a refused password consumes the job, shows in no log line, and is read afresh next time', async () => {
    await dovecot.seed('wrong', [Buffer.from('Subject: kept\r\n\r\nstays on the server\r\n')]);
    const wrongPassword = 'not-the-pop3-password-5f1c';
    secrets.putSecret('mailbox-poller/wrong', JSON.stringify({ password: wrongPassword }));
    const [job] = await dispatchAndReceive('2025-03-04T10:10:00Z', [mailbox('wrong', 'wrong')]);
    const { response } = await pollJob(job!);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(await dovecot.messageCount('wrong')).toBe(1);
    expect(output.logs().find((entry) => entry['message'] === 'poll failed')).toMatchObject({
      mailboxId: 'wrong',
      status: 'auth-failed',
      detail: expect.stringContaining('the credentials were refused'),
      health: 'needs-attention',
      disposition: { action: 'delete', consumedBecause: 'auth-failed' },
    });
    const authFailures = output.lines.filter((line) => line.includes('"AuthFailures"'));
    expect(authFailures.map((line) => JSON.parse(line)['AuthFailures'])).toContain(1);
    expect(output.lines.join('\n')).not.toContain(wrongPassword);

    // The secret is corrected; the next slot's poll must not reuse the refused one from the cache.
    secrets.putSecret('mailbox-poller/wrong', JSON.stringify({ password: USERS.wrong }));
    const [next] = await dispatchAndReceive('2025-03-04T10:25:00Z', [mailbox('wrong', 'wrong')]);
    expect((await pollJob(next!)).response).toEqual({ batchItemFailures: [] });
    expect(await dovecot.messageCount('wrong')).toBe(0);
    expect(secrets.requestedIds.filter((id) => id === 'mailbox-poller/wrong')).toHaveLength(2);
    expect(output.lines.join('\n')).not.toContain(USERS.wrong);
  });

  test('a missing or malformed secret fails that mailbox alone, with the reason and no secret text', async () => {
    secrets.putSecret('mailbox-poller/fine', USERS.fine);
    // A key/value secret without the `password` key: the value under the wrong key must stay unseen.
    const misplaced = 'misplaced-secret-value-93ab';
    secrets.putSecret('mailbox-poller/misnamed', JSON.stringify({ pasword: misplaced }));
    await dovecot.seed('fine', [Buffer.from('Subject: fine\r\n\r\nhello\r\n')]);
    const jobs = await dispatchAndReceive('2025-03-04T10:15:00Z', [
      mailbox('fine', 'fine'),
      mailbox('missing', 'fine'),
      mailbox('misnamed', 'fine'),
    ]);
    expect(jobs).toHaveLength(3);
    const results = new Map<string, Awaited<ReturnType<typeof pollJob>>>();
    for (const job of jobs) results.set(job.Attributes!.MessageGroupId!, await pollJob(job));

    expect(results.get('fine')!.response).toEqual({ batchItemFailures: [] });
    expect(await dovecot.messageCount('fine')).toBe(0);
    for (const id of ['missing', 'misnamed']) {
      const { record, response } = results.get(id)!;
      // Failed, so SQS gets it back (with a backoff) and, after the last attempt, moves it to the DLQ.
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
    }
    const failures = output.logs().filter((entry) => entry['message'] === 'poll failed');
    const failureOf = (id: string) => failures.find((entry) => entry['mailboxId'] === id);
    expect(failures).toHaveLength(2);
    expect(failureOf('missing')).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining(
        'could not read secret "mailbox-poller/missing": ResourceNotFoundException',
      ),
    });
    expect(failureOf('misnamed')).toMatchObject({
      status: 'failed',
      detail: expect.stringContaining(
        'secret "mailbox-poller/misnamed" has no non-empty string field "password"',
      ),
    });
    const everything = output.lines.join('\n');
    expect(everything).not.toContain(misplaced);
    expect(everything).not.toContain(USERS.fine);
  });

  test('keep mode: messages stay on the server, the state object remembers them, later slots ingest only new ones', async () => {
    const message = (n: number) =>
      Buffer.from(`Message-ID: <keep-${n}@example.com>\r\nSubject: keep ${n}\r\n\r\nbody ${n}\r\n`);
    await dovecot.seed('keep', [message(1), message(2), message(3)]);
    secrets.putSecret('mailbox-poller/keep', USERS.keep);
    const kept = { ...mailbox('keep', 'keep'), keep: true };
    const slot = async (time: string) => {
      const [job, ...more] = await dispatchAndReceive(time, [kept]);
      expect(more).toEqual([]);
      return (await pollJob(job!)).response;
    };

    expect(await slot('2025-03-04T11:00:00Z')).toEqual({ batchItemFailures: [] });
    expect(await dovecot.messageCount('keep')).toBe(3);
    expect((await storedObjects('keep')).size).toBe(3);
    expect(await notificationsFor('keep')).toHaveLength(3);
    const stateKey = `${KEY_PREFIX}.state/keep.jsonl.gz`;
    expect(await aws.listKeys(MESSAGE_BUCKET, `${KEY_PREFIX}.state/`)).toEqual([stateKey]);

    expect(await slot('2025-03-04T11:05:00Z')).toEqual({ batchItemFailures: [] });
    expect(await notificationsFor('keep')).toEqual([]);

    await dovecot.seed('keep', [message(4)]);
    expect(await slot('2025-03-04T11:10:00Z')).toEqual({ batchItemFailures: [] });
    const fresh = await notificationsFor('keep');
    expect(fresh.map((n) => n.mail.commonHeaders.subject)).toEqual(['keep 4']);
    expect(await dovecot.messageCount('keep')).toBe(4);
    expect((await storedObjects('keep')).size).toBe(4);
    const finished = output.logs().filter((entry) => entry['message'] === 'poll finished');
    expect(finished.map((entry) => (entry['counts'] as { stored: number }).stored)).toEqual([3, 0, 1]);
    expect(finished.map((entry) => (entry['counts'] as { deleted: number }).deleted)).toEqual([0, 0, 0]);
  });

  test('a slow mailbox stops within the time left, keeps what it deleted, and hands the job back', async () => {
    const count = 600;
    // About 1.6 KB each, every one different, so each deleted message can be found in S3 by its hash.
    const seeded = Array.from({ length: count }, (_, n) =>
      Buffer.from(
        `Message-ID: <slow-${n}@example.com>\r\nSubject: slow ${n}\r\n\r\n` +
          `${`line of message ${n} `.padEnd(76, '.')}\r\n`.repeat(20),
      ),
    );
    await dovecot.seed('slow', seeded);
    secrets.putSecret('mailbox-poller/slow', USERS.slow);
    // 40 ms each way: every command and every pipelined window waits a round trip of 80 ms.
    const proxy: TcpProxy = await startTcpProxy({
      target: { host: '127.0.0.1', port: dovecot.pop3sPort },
      delayMs: 40,
    });
    try {
      const [job] = await dispatchAndReceive('2025-03-04T10:20:00Z', [
        mailbox('slow', 'slow', { port: proxy.port }),
      ]);
      const pollBudgetMs = 3_000;
      const lambdaBudgetMs = POLL_SAFETY_MARGIN_MS + pollBudgetMs;
      const { record, response, elapsedMs } = await pollJob(job!, lambdaBudgetMs);

      // Back well before Lambda's end: at most half the safety margin went to finishing in-flight work.
      expect(elapsedMs).toBeLessThan(pollBudgetMs + POLL_SAFETY_MARGIN_MS / 2);
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      const summary = output.logs().find((entry) => entry['message'] === 'poll incomplete, will retry');
      expect(summary).toMatchObject({ status: 'retry-later', reason: 'deadline' });
      const counts = summary!['counts'] as Record<string, number>;
      expect(counts['deleted']).toBeGreaterThan(0);
      expect(counts['left']).toBeGreaterThan(0);
      // First receive: visible again after 30 s, the first step of the backoff.
      const inflight = aws.server
        .inspectQueue('jobs.fifo')!
        .messages.inflight.find((entry) => entry.receiptHandle === job!.ReceiptHandle);
      expect(Number(inflight!.visibilityDeadline) - Date.now()).toBeGreaterThan(25_000);

      // Whatever left the server is in S3, byte for byte, and was notified.
      const remaining = new Set(maildirContents('slow').map(sha256));
      const deleted = seeded.map(servedByDovecot).filter((bytes) => !remaining.has(sha256(bytes)));
      expect(deleted).toHaveLength(counts['deleted']!);
      expect(remaining.size).toBe(count - counts['deleted']!);
      const objects = await storedObjects('slow');
      const notified = new Set((await notificationsFor('slow')).map((n) => n.pop3.sha256));
      for (const bytes of deleted) {
        expect(objects.get(sha256(bytes))?.equals(bytes)).toBe(true);
        expect(notified.has(sha256(bytes))).toBe(true);
      }
    } finally {
      await proxy.close();
    }
  });

  test('a batch polls each mailbox once, and a failing mailbox in it is retried alone', async () => {
    const seeded = [1, 2, 3].map((n) => Buffer.from(`Subject: batch ${n}\r\n\r\nmessage ${n}\r\n`));
    await dovecot.seed('batch', seeded);
    secrets.putSecret('mailbox-poller/batch-good', USERS.batch);
    // The other mailbox names a secret that does not exist: failed, so SQS must get its jobs back.
    const mailboxes = [
      mailbox('batch-good', 'batch'),
      mailbox('batch-bad', 'fine', { secretId: 'mailbox-poller/no-such-secret' }),
    ];
    await writeConfig(mailboxes);
    await dispatchAt('2025-03-04T13:00:00Z');
    // A second job for the good mailbox in another message group, so that it lands in the same batch (the
    // emulator hands out one message per group per receive; two jobs of one group are covered in
    // test/unit/lambda/poll-job.test.ts). Its poll must wait for, and share, the first one's.
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: jobQueueUrl,
        MessageGroupId: 'batch-good-copy',
        MessageDeduplicationId: 'batch-good-copy',
        MessageBody: JSON.stringify({
          version: 2,
          mailboxId: 'batch-good',
          slot: '2025-03-04T13:05:00.000Z',
          configVersion: configVersionOf(JSON.stringify({ mailboxes })),
        }),
      }),
    );
    const jobs = await receiveJobs();
    const groupOf = (job: Message) => job.Attributes?.MessageGroupId;
    expect(jobs.map(groupOf).sort()).toEqual(['batch-bad', 'batch-good', 'batch-good-copy']);

    const response = await pollBatch(jobs);

    const badJobs = jobs.filter((job) => groupOf(job) === 'batch-bad').map((job) => job.MessageId);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      badJobs.sort(),
    );
    // Polled once: one run per mailbox, the second job of the good one shares its outcome.
    const started = output.logs().filter((entry) => entry['message'] === 'poll started');
    expect(started.map((entry) => entry['mailboxId']).sort()).toEqual(['batch-bad', 'batch-good']);
    expect(await dovecot.messageCount('batch')).toBe(0);
    expect((await storedObjects('batch-good')).size).toBe(seeded.length);
    expect(await notificationsFor('batch-good')).toHaveLength(seeded.length);
    expect(output.logs().find((entry) => entry['message'] === 'poll failed')).toMatchObject({
      mailboxId: 'batch-bad',
      status: 'failed',
    });
    // The construct's Contributor Insights rule, over every line the bundle printed (logs and EMF
    // documents), counts the failing mailbox with its reason, and nothing else.
    const { body } = insightRuleOf(synth().template);
    expect(contributorsOf(body, output.json())).toEqual([['batch-bad', 'credentials']]);
    // The good mailbox's jobs are gone; the bad one's wait in the queue for their retry.
    const queue = aws.server.inspectQueue('jobs.fifo')!.messages;
    const left = [...queue.ready, ...queue.inflight.map((entry) => entry.message)];
    const leftOf = (group: string) => left.filter((message) => message.messageGroupId === group);
    expect(leftOf('batch-good')).toEqual([]);
    expect(leftOf('batch-good-copy')).toEqual([]);
    expect(leftOf('batch-bad')).toHaveLength(1);
  });

  test('keep mode: a listing too long to keep fails that mailbox alone, before memory is at risk', async () => {
    // 20,000 unique-ids of 1,000 octets (20 MB of UIDL listing); before keep mode's octet cap such
    // listings took hundreds of MiB and could run the whole invocation, and its batch, out of memory.
    const lying = await startLyingServer({
      count: 20_000,
      listedSize: () => 100,
      bodySize: () => 100,
      uidl: (msg) => String(msg).padStart(1000, 'u'),
    });
    try {
      const seeded = [1, 2].map((n) => Buffer.from(`Subject: neighbour ${n}\r\n\r\nmessage ${n}\r\n`));
      await dovecot.seed('neighbour', seeded);
      secrets.putSecret('mailbox-poller/neighbour', USERS.neighbour);
      secrets.putSecret('mailbox-poller/huge-keep', 'any');
      const huge = {
        ...mailbox('huge-keep', 'anyone'),
        port: lying.port,
        tls: 'none',
        allowInsecureAuth: true,
        keep: true,
      };
      await writeConfig([huge, mailbox('neighbour', 'neighbour')]);
      await dispatchAt('2025-03-04T14:00:00Z');
      await pollBatch(await receiveJobs());

      expect(
        output.logs().find((entry) => entry['mailboxId'] === 'huge-keep' && entry['status']),
      ).toMatchObject({
        message: 'poll failed',
        status: 'failed',
        reason: 'listing-too-long',
      });
      expect(await aws.listKeys(MESSAGE_BUCKET, `${KEY_PREFIX}.state/huge-keep`)).toEqual([]);
      expect(lying.deleted.size).toBe(0);
      // The other mailbox of the batch is drained as usual.
      expect(await dovecot.messageCount('neighbour')).toBe(0);
      expect(await notificationsFor('neighbour')).toHaveLength(seeded.length);
    } finally {
      await lying.close();
    }
  });

  /** The bytes of every message still in the user's Maildir. */
  function maildirContents(user: string): Buffer[] {
    const root = path.join(dovecot.directory, 'home', user, 'Maildir');
    return ['cur', 'new'].flatMap((folder) =>
      readdirSync(path.join(root, folder))
        .filter((name) => !name.startsWith('.'))
        .map((name) => readFileSync(path.join(root, folder, name))),
    );
  }
});
