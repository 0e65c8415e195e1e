/**
 * Running the BUILT Lambda handlers the way Lambda runs them: scripts/build.mjs into a folder of our own,
 * a Context whose remaining time counts down, the SQSRecord the event source mapping builds from a
 * received message, and the handlers' stdout/stderr (Powertools logs, EMF metrics) kept for assertions.
 * Used by test/integration/lambda-bundles.test.ts, oauth2-lambda-bundle.test.ts and the fleet bench.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

/** scripts/build.mjs into `outDir`: dist/ may be in use by someone running the CLI. */
export async function buildFunctionBundles(
  outDir: string,
): Promise<{ poll: string; dispatch: string; parse: string }> {
  await run(
    process.execPath,
    ['scripts/build.mjs', '--out-dir', outDir, '--functions-only', '--no-measure'],
    {
      cwd: ROOT,
    },
  );
  return {
    poll: path.join(outDir, 'functions/poll/poll.mjs'),
    dispatch: path.join(outDir, 'functions/dispatch/dispatch.mjs'),
    parse: path.join(outDir, 'functions/parse/parse.mjs'),
  };
}

/** A context like the one Lambda passes: the remaining time counts down from `budgetMs`. */
export function lambdaContext(functionName: string, budgetMs: number): Context {
  const endsAt = Date.now() + budgetMs;
  const fail = () => {
    throw new Error('callback-style completion is not used by async handlers');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2025/03/04/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, endsAt - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
}

/** The record the SQS event source mapping builds from a received message. */
export function sqsRecordOf(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body!,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
      ...(attributes.MessageDeduplicationId === undefined
        ? {}
        : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
      ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody!,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

/** Keeps every line written to stdout and stderr until `stop` (Powertools logs and EMF metrics go there). */
export function captureOutput() {
  const lines: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const keep = (chunk: unknown, ...rest: unknown[]): boolean => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = keep as typeof process.stdout.write;
  process.stderr.write = keep as typeof process.stderr.write;
  const json = () =>
    lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    lines,
    /** Every JSON line: Powertools log entries and EMF metric documents. */
    json,
    /** Log lines that are JSON objects with a `message` (Powertools), not EMF metric documents. */
    logs: () => json().filter((entry) => typeof entry['message'] === 'string'),
    stop: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}

export type CapturedOutput = ReturnType<typeof captureOutput>;

/**
 * The environment the construct gives the dispatch and poll functions, for one test deployment: the
 * config object at `config`/`mailbox-poller/config.json` (putDeployedConfig), messages under `mail/`.
 */
export function deployedFunctionEnvironment(options: {
  readonly jobQueueUrl: string;
  readonly notificationQueueUrl: string;
  readonly serviceName: string;
}): Record<string, string> {
  return {
    CONFIG_BUCKET: 'config',
    CONFIG_KEY: DEPLOYED_CONFIG_KEY,
    JOB_QUEUE_URL: options.jobQueueUrl,
    SCHEDULE_PERIOD_SECONDS: '300',
    MESSAGE_BUCKET: 'mail',
    KEY_PREFIX: 'mail/',
    NOTIFICATION_QUEUE_URL: options.notificationQueueUrl,
    JOB_MAX_RECEIVE_COUNT: '5',
    METRICS_NAMESPACE: 'MailboxPoller',
    POWERTOOLS_SERVICE_NAME: options.serviceName,
  };
}

const DEPLOYED_CONFIG_KEY = 'mailbox-poller/config.json';

/** Writes the deployed configuration of `mailboxes` where deployedFunctionEnvironment points. */
export async function putDeployedConfig(s3: S3Client, mailboxes: readonly object[]): Promise<void> {
  const body = JSON.stringify({ mailboxes });
  await s3.send(new PutObjectCommand({ Bucket: 'config', Key: DEPLOYED_CONFIG_KEY, Body: body }));
}
