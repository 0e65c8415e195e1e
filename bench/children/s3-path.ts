/**
 * The S3 path alone, in a process of its own: `count` distinct messages of `bytes` each through the
 * shipped S3MessageStore and SqsNotifier (one PutObject each, notifications in batches of 10), `inFlight`
 * puts at a time as the pipeline keeps them. Prints one JSON line: CPU (process.cpuUsage) and wall time of
 * the puts and sends only, after a warm-up of 20 messages so that module loading and the first
 * connection are not counted. The emulator runs in the parent, so its CPU is not in these figures.
 *
 * `clients` is `shipped` (createS3Client/createSqsClient, as the CLI and the functions make them) or
 * `sdk-defaults`: clients with the SDK's defaults and only our HTTP timeouts, as they were made before the
 * request path was tuned (each request resolves its middleware stack; the signer hashes each body again).
 *
 *   node s3-path.mjs <count> <bytes> <inFlight> [shipped|sdk-defaults]   (AWS_* variables point at the
 *   emulator, plus BENCH_BUCKET and BENCH_QUEUE_URL)
 */
import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { AWS_HTTP_OPTIONS, endpointFromEnv, regionFromEnv } from '../../lib/adapters/aws-common.ts';
import { createS3Client } from '../../lib/adapters/s3-client.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { createSqsClient, SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';

const [count, bytes, inFlight] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const sdkDefaults = process.argv[5] === 'sdk-defaults';

function sdkDefaultClients(): { s3: S3Client; sqs: SQSClient } {
  const settings = { region: regionFromEnv(), requestHandler: AWS_HTTP_OPTIONS };
  return {
    s3: new S3Client({ ...settings, endpoint: endpointFromEnv('AWS_ENDPOINT_URL_S3'), forcePathStyle: true }),
    sqs: new SQSClient({ ...settings, endpoint: endpointFromEnv('AWS_ENDPOINT_URL_SQS') }),
  };
}

const clients = sdkDefaults ? sdkDefaultClients() : { s3: createS3Client(), sqs: createSqsClient() };
const store = new S3MessageStore({
  client: clients.s3,
  bucket: process.env.BENCH_BUCKET!,
  keyPrefix: 'mail/',
});
const notifier = new SqsNotifier({ client: clients.sqs, queueUrl: process.env.BENCH_QUEUE_URL! });
// Each run has a deadline, and every request carries its signal: so does this one.
const run = new AbortController();
const WARM_UP = 20;

/** A message body: distinct per index so each one is a new object. */
function messageBytes(index: number): Buffer {
  const head = Buffer.from(`Message-ID: <s3-path-${index}@bench>\r\nSubject: ${index}\r\n\r\n`);
  const body = Buffer.alloc(Math.max(0, bytes - head.length), `line ${index} of the S3 path bench\r\n`);
  return Buffer.concat([head, body]);
}

async function putAll(from: number, to: number): Promise<void> {
  let next = from;
  const pending: { key: string; id: string }[] = [];
  const flush = async (all: boolean) => {
    while (pending.length >= 10 || (all && pending.length > 0)) {
      const batch = pending.splice(0, 10).map(({ key, id }) => ({
        entryId: id,
        body: JSON.stringify({ key, note: 'bench notification' }),
        mailboxId: 'bench',
        deduplicationKey: key,
      }));
      const results = await notifier.send(batch, { signal: run.signal });
      if (results.some((result) => !result.ok)) throw new Error('a notification was refused');
    }
  };
  const worker = async () => {
    for (let index = next++; index < to; index = next++) {
      const stored = await store.put({
        mailboxId: 'bench',
        uidl: `uid-${index}`,
        listedSize: bytes,
        body: Readable.from([messageBytes(index)]),
        retrievedAt: new Date(),
        signal: run.signal,
      });
      pending.push({ key: stored.key, id: `n${index}` });
      await flush(false);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await flush(true);
}

await putAll(0, WARM_UP);
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
await putAll(WARM_UP, WARM_UP + count);
const wallMs = performance.now() - startedAt;
const cpu = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({ count, bytes, wallMs, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000 })}\n`,
);
