/**
 * What the deployed functions store can be replayed: the BUILT dispatch and poll bundles
 * (test/support/lambda-harness.ts) drain a mailbox into S3 + the notification queue (fauxqs), and the
 * BUILT CLI's `replay` sends every notification again to another queue, byte for byte the same, with the
 * same `mailboxId` attribute. So the poll function's objects keep every input in their metadata.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
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

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

const MESSAGES = [
  'From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.de>\r\nTo: a@example.com\r\nSubject: =?UTF-8?B?w6TDtsO8?=\r\n\r\nbody\r\n',
  'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org; dmarc=pass\r\nFrom: b@example.org\r\nSubject: verdicts\r\n\r\n..dot\r\n',
  'Subject: no body',
].map((text) => Buffer.from(text));

let aws: Fauxqs;
let secrets: SecretsManagerEndpoint;
let server: MemoryPop3Server;
let cli: BuiltCli;
let outDir: string;
let poll: Handler;
let dispatch: Handler;
let jobQueueUrl: string;
let jobQueueArn: string;
let notificationQueueUrl: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  outDir = await mkdtemp(path.join(tmpdir(), 'replay-lambda-'));
  let bundles: { poll: string; dispatch: string };
  [aws, secrets, server, cli, bundles] = await Promise.all([
    startFauxqs(),
    startSecretsManagerEndpoint(),
    startMemoryPop3Server({ users: [{ name: 'alice', password: 'alice-password', messages: MESSAGES }] }),
    buildCliBundle('replay-lambda-cli-'),
    buildFunctionBundles(outDir),
  ]);
  await Promise.all([aws.createBucket('mail'), aws.createBucket('config')]);
  jobQueueUrl = await aws.createQueue('jobs', {
    fifo: true,
    attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
  });
  jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
  notificationQueueUrl = await aws.createQueue('notifications', { fifo: true });
  Object.assign(process.env, aws.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    ...deployedFunctionEnvironment({ jobQueueUrl, notificationQueueUrl, serviceName: 'replay-lambda-test' }),
  });
  secrets.putSecret('mailbox-poller/support', JSON.stringify({ password: 'alice-password' }));
  poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
  dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  const mailbox = {
    id: 'support',
    host: server.host,
    port: server.port,
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
  await Promise.all([aws?.stop(), secrets?.close(), server?.close(), cli?.remove()]);
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

test('the built CLI replays what the built poll function stored, byte for byte', {
  timeout: 120_000,
}, async () => {
  const output = captureOutput();
  try {
    await dispatch.handler({ scheduledTime: '2026-12-07T05:00:00Z' }, lambdaContext('dispatch', 60_000));
    const { Messages: jobs = [] } = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: jobQueueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(jobs).toHaveLength(1);
    await poll.handler(
      { Records: [sqsRecordOf(jobs[0] as Message, jobQueueArn)] },
      lambdaContext('poll', 60_000),
    );
  } finally {
    output.stop();
  }
  const originals = await aws.receiveAll(notificationQueueUrl);
  expect(originals).toHaveLength(MESSAGES.length);

  const replayQueue = await aws.createQueue('replayed', { fifo: true });
  const env = { ...aws.env, PATH: process.env.PATH ?? '' };
  const args = ['replay', '--bucket', 'mail', '--key-prefix', 'mail/', '--queue-url', replayQueue];
  const result = await runBuiltCli(cli.runner, args, { cwd: cli.dir, env });
  expect(result.stdout).toContain(`replay: ${MESSAGES.length} notification(s) sent`);
  expect(result.status).toBe(0);
  const replayed = await aws.receiveAll(replayQueue);
  const byBody = (messages: Message[]) => messages.map((message) => message.Body).sort();
  expect(byBody(replayed)).toEqual(byBody(originals));
  const dedupIds = (messages: Message[]) => messages.map((m) => m.Attributes?.MessageDeduplicationId).sort();
  expect(dedupIds(replayed)).toEqual(dedupIds(originals));
  expect(replayed.map((m) => m.MessageAttributes?.mailboxId?.StringValue)).toEqual([
    'support',
    'support',
    'support',
  ]);
});
