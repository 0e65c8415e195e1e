/**
 * A notification sent again after an interrupted run is the first one, byte for byte, through the BUILT
 * dispatch and poll bundles (test/support/lambda-harness.ts): the memory POP3 server behind a proxy that
 * cuts the connection right after the first DELE reaches it (every notification was accepted, nothing is
 * committed: no QUIT), then a second invocation that retrieves every message again. Every AWS request goes
 * through the request recorder, which answers a conditional write onto a taken key with 412 as S3 does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type AwsRequestRecorder, startAwsRequestRecorder } from '../support/aws-request-recorder.ts';
import { FaultPlan } from '../support/crash-sweep.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  buildFunctionBundles,
  captureOutput,
  deployedFunctionEnvironment,
  lambdaContext,
  putDeployedConfig,
  sqsRecordOf,
} from '../support/lambda-harness.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

const MESSAGES = [
  'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org; dmarc=pass\r\nFrom: b@example.org\r\nSubject: verdicts\r\n\r\n..dot\r\n',
  'From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\r\nTo: a@example.com\r\nSubject: =?UTF-8?B?w6TDtsO8?=\r\n\r\nbody\r\n',
  'Subject: no body',
].map((text) => Buffer.from(text));

const plan = new FaultPlan();
let aws: Fauxqs;
let recorder: AwsRequestRecorder;
let secrets: SecretsManagerEndpoint;
let server: MemoryPop3Server;
let proxy: TcpProxy;
let outDir: string;
let poll: Handler;
let dispatch: Handler;
let jobQueueUrl: string;
let jobQueueArn: string;
let notificationQueueUrl: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'resent-lambda-'));
  let bundles: { poll: string; dispatch: string };
  [aws, secrets, server, bundles] = await Promise.all([
    startFauxqs(),
    startSecretsManagerEndpoint(),
    startMemoryPop3Server({ users: [{ name: 'alice', password: 'alice-password', messages: MESSAGES }] }),
    buildFunctionBundles(outDir),
  ]);
  recorder = await startAwsRequestRecorder({
    s3: aws.endpoint,
    sqs: aws.endpoint,
    secretsmanager: secrets.endpoint,
  });
  proxy = await startTcpProxy({
    target: { host: server.host, port: server.port },
    onClientData: plan.clientHook(),
  });
  await Promise.all([aws.createBucket('mail'), aws.createBucket('config')]);
  jobQueueUrl = await aws.createQueue('jobs', {
    fifo: true,
    attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
  });
  jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
  // A standard queue keeps both sends of a notification (a FIFO queue would drop the second).
  notificationQueueUrl = await aws.createQueue('notifications');
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: recorder.endpoint,
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...deployedFunctionEnvironment({ jobQueueUrl, notificationQueueUrl, serviceName: 'resent-lambda-test' }),
  });
  secrets.putSecret('mailbox-poller/support', JSON.stringify({ password: 'alice-password' }));
  poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
  dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  const mailbox = {
    id: 'support',
    host: proxy.host,
    port: proxy.port,
    tls: 'none',
    allowInsecureAuth: true,
    username: 'alice',
    password: { secretId: 'mailbox-poller/support' },
    trustedAuthservId: 'mx.example.com',
  };
  await putDeployedConfig(aws.s3, [mailbox]);
}, 240_000);

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([aws?.stop(), recorder?.close(), secrets?.close(), proxy?.close(), server?.close()]);
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** One scheduled dispatch, the poll invocation of the job it queued, and the job deleted. */
async function invokeOnce(scheduledTime: string): Promise<void> {
  const output = captureOutput();
  try {
    await dispatch.handler({ scheduledTime }, lambdaContext('dispatch', 60_000));
    const { Messages: jobs = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: jobQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(jobs, output.lines.join('\n')).toHaveLength(1);
    await poll.handler(
      { Records: [sqsRecordOf(jobs[0] as Message, jobQueueArn)] },
      lambdaContext('poll', 60_000),
    );
    // What the event source mapping does after the invocation: the group's next job can be received.
    const done = { QueueUrl: jobQueueUrl, ReceiptHandle: jobs[0]!.ReceiptHandle };
    await aws.sqs.send(new DeleteMessageCommand(done));
  } finally {
    output.stop();
  }
}

test('the second invocation’s notifications equal the first one’s byte for byte', {
  timeout: 120_000,
}, async () => {
  plan.fault = { kind: 'cut-after-command', command: 'DELE', occurrence: 1 };
  await invokeOnce('2026-12-07T05:00:00Z');
  expect(plan.fault, 'the cut after the first DELE never happened').toEqual({ kind: 'none' });
  expect(server.messages('alice')).toHaveLength(MESSAGES.length);
  const first = bodiesByKey(await aws.receiveAll(notificationQueueUrl));
  expect(first.size).toBeGreaterThan(0);

  const requestsBefore = recorder.requests.length;
  await invokeOnce('2026-12-07T05:05:00Z');
  expect(server.messages('alice')).toHaveLength(0);
  const second = bodiesByKey(await aws.receiveAll(notificationQueueUrl));
  expect(second.size).toBe(MESSAGES.length);
  // Every message was found stored: the second invocation wrote no object, each PUT was refused with 412.
  const puts = recorder.requests
    .slice(requestsBefore)
    .filter((request) => request.method === 'PUT' && request.path.endsWith('.eml'));
  expect(puts.map((request) => request.status)).toEqual(Array(MESSAGES.length).fill(412));
  for (const [key, body] of first) expect(second.get(key), key).toBe(body);
});

/** Each notification's body by the object key it names; a key named twice fails the test. */
function bodiesByKey(messages: Message[]): Map<string, string> {
  const bodies = new Map<string, string>();
  for (const message of messages) {
    const key = JSON.parse(message.Body!).receipt.action.objectKey as string;
    expect(bodies.has(key), `${key} notified twice in one invocation`).toBe(false);
    bodies.set(key, message.Body!);
  }
  return bodies;
}
