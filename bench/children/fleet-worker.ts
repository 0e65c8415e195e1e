/**
 * One poll worker of the fleet scenario, standing for one Lambda container (one unit of the event
 * source's concurrency): it imports the BUILT poll bundle once, then does what the SQS event source
 * mapping does, until the job queue stays empty: receive up to `batchSize` jobs, invoke the handler with
 * an SQSEvent of them, delete every job not listed in batchItemFailures. Prints one JSON line: the import's
 * time and CPU, and per invocation its records, wall time and CPU (process.cpuUsage), plus every
 * "poll finished" line's mailbox, duration and message count, read from the handler's own log output,
 * and the bytes and lines of that output (Powertools JSON logs and EMF documents: what CloudWatch Logs
 * ingests, less the runtime's own START/END/REPORT lines).
 *
 *   node fleet-worker.mjs <poll bundle> <batchSize>   (environment as the construct gives the function)
 */
import { pathToFileURL } from 'node:url';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { lambdaContext, sqsRecordOf } from '../../test/support/lambda-harness.ts';

const [bundle, batchSizeText] = process.argv.slice(2) as [string, string];
const batchSize = Number(batchSizeText);
const queueUrl = process.env.JOB_QUEUE_URL!;
/** Receives in a row that found nothing before the worker decides the queue is drained. */
const EMPTY_RECEIVES_TO_STOP = 3;
const JOB_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:jobs.fifo';

interface PollRun {
  readonly mailboxId: string;
  readonly durationMs: number;
  readonly messages: number;
  readonly status: string;
}
const runs: PollRun[] = [];
/** What the handler printed since the last invocation started. */
const output = { bytes: 0, lines: 0 };
// The handler's log lines (Powertools JSON, EMF metrics) are read here, not printed.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array) => {
  for (const line of String(chunk).split('\n')) {
    if (line === '') continue;
    output.bytes += Buffer.byteLength(line) + 1;
    output.lines += 1;
    if (!line.includes('"poll ')) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (
      entry.message !== 'poll finished' &&
      entry.message !== 'poll failed' &&
      entry.message !== 'poll incomplete, will retry'
    )
      continue;
    const counts = entry.counts as { stored?: number } | undefined;
    runs.push({
      mailboxId: String(entry.mailboxId),
      durationMs: Number(entry.durationMs),
      messages: counts?.stored ?? 0,
      status: String(entry.status),
    });
  }
  return true;
}) as typeof process.stdout.write;

const importCpu = process.cpuUsage();
const importStart = performance.now();
const poll = (await import(pathToFileURL(bundle).href)) as {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
};
const init = { ms: performance.now() - importStart, cpuMs: cpuMs(process.cpuUsage(importCpu)) };

const sqs = new SQSClient({ region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL_SQS });
const invocations: {
  records: number;
  wallMs: number;
  cpuMs: number;
  failures: number;
  logBytes: number;
  logLines: number;
}[] = [];
let empty = 0;
while (empty < EMPTY_RECEIVES_TO_STOP) {
  const reply = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: batchSize,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const messages = reply.Messages ?? [];
  if (messages.length === 0) {
    empty += 1;
    await new Promise((resolve) => setTimeout(resolve, 50));
    continue;
  }
  empty = 0;
  output.bytes = 0;
  output.lines = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const response = await poll.handler(
    { Records: messages.map((message) => sqsRecordOf(message, JOB_QUEUE_ARN)) },
    lambdaContext('poll', 300_000),
  );
  const wallMs = performance.now() - started;
  const used = cpuMs(process.cpuUsage(cpuBefore));
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = messages.filter((message) => !failed.has(message.MessageId!));
  if (done.length > 0) {
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((message, i) => ({ Id: `d${i}`, ReceiptHandle: message.ReceiptHandle! })),
      }),
    );
  }
  invocations.push({
    records: messages.length,
    wallMs,
    cpuMs: used,
    failures: failed.size,
    logBytes: output.bytes,
    logLines: output.lines,
  });
}
write(`${JSON.stringify({ init, invocations, runs })}\n`);

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}
