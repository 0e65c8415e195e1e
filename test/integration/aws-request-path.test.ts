/**
 * The per-message AWS requests as the store and notifier send them: each command class's middleware stack
 * resolved once per client and deadline signal (not once per request), the deadline still aborting, and
 * PutObject signed with the SHA-256 the store computed instead of a second hash of the body.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sendAbortable } from '../../lib/adapters/abortable-send.ts';
import { createS3Client, knownPayloadHash, PAYLOAD_HASH_HEADER } from '../../lib/adapters/s3-client.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { createSqsClient, SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import type { MessageToStore } from '../../lib/ports.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';

let fauxqs: Fauxqs;
let bucketNumber = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function freshBucket(): Promise<string> {
  const bucket = `request-path-${++bucketNumber}`;
  await fauxqs.createBucket(bucket);
  for (const [name, value] of Object.entries(fauxqs.env)) vi.stubEnv(name, value);
  return bucket;
}

function message(index: number, signal?: AbortSignal): MessageToStore {
  const body = Buffer.from(`Subject: ${index}\r\n\r\nbody ${index}\r\n`);
  return {
    mailboxId: 'box',
    uidl: `uid-${index}`,
    listedSize: body.length,
    body: Readable.from([body]),
    retrievedAt: new Date(),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** The headers of every request as it leaves the build step (what the signer gets). */
function recordHeaders(client: S3Client): Record<string, string>[] {
  const sent: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHeadersForTest', priority: 'high' },
  );
  return sent;
}

describe('middleware stacks resolved once per run', () => {
  it('resolves PutObject once for all messages of one deadline, again for another deadline', async () => {
    const bucket = await freshBucket();
    const store = new S3MessageStore({ client: createS3Client(), bucket });
    const resolve = vi.spyOn(PutObjectCommand.prototype, 'resolveMiddleware');
    const run = new AbortController();
    await Promise.all([1, 2, 3, 4, 5].map((i) => store.put(message(i, run.signal))));
    expect(resolve).toHaveBeenCalledTimes(1);
    const nextRun = new AbortController();
    const stored = await store.put(message(6, nextRun.signal));
    expect(resolve).toHaveBeenCalledTimes(2);
    expect(await fauxqs.getObject(bucket, stored.key)).toEqual(Buffer.from('Subject: 6\r\n\r\nbody 6\r\n'));
  });

  it('resolves SendMessageBatch once per deadline', async () => {
    await freshBucket();
    const queueUrl = await fauxqs.createQueue(`request-path-${bucketNumber}`);
    const notifier = new SqsNotifier({ client: createSqsClient(), queueUrl });
    const resolve = vi.spyOn(SendMessageBatchCommand.prototype, 'resolveMiddleware');
    const run = new AbortController();
    for (const i of [1, 2, 3]) {
      const results = await notifier.send(
        [{ entryId: `e${i}`, body: `{"n":${i}}`, mailboxId: 'box', deduplicationKey: `k${i}` }],
        { signal: run.signal },
      );
      expect(results).toEqual([{ entryId: `e${i}`, ok: true }]);
    }
    expect(resolve).toHaveBeenCalledTimes(1);
    expect((await fauxqs.receiveAll(queueUrl)).map((m) => m.Body)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('still aborts: a cached handler refuses once its deadline has passed, another deadline goes on', async () => {
    const bucket = await freshBucket();
    const store = new S3MessageStore({ client: createS3Client(), bucket });
    const run = new AbortController();
    await store.put(message(1, run.signal));
    run.abort(new Error('deadline'));
    await expect(store.put(message(2, run.signal))).rejects.toThrow();
    const later = new AbortController();
    await expect(store.put(message(3, later.signal))).resolves.toMatchObject({ created: true });
    expect((await fauxqs.listKeys(bucket)).length).toBe(2);
  });

  it('leaves a client without cacheMiddleware as it is: resolved on every send, abort signal passed on', async () => {
    const bucket = await freshBucket();
    const client = new S3Client({
      endpoint: fauxqs.endpoint,
      region: fauxqs.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const resolve = vi.spyOn(PutObjectCommand.prototype, 'resolveMiddleware');
    const send = vi.spyOn(client, 'send');
    const run = new AbortController();
    const store = new S3MessageStore({ client, bucket });
    await store.put(message(1, run.signal));
    await store.put(message(2, run.signal));
    expect(resolve).toHaveBeenCalledTimes(2);
    expect(send.mock.calls.map((call) => call[1])).toEqual([
      { abortSignal: run.signal },
      { abortSignal: run.signal },
    ]);
  });

  it('sends without options when there is no signal, so the SDK cache applies', async () => {
    const bucket = await freshBucket();
    const client = createS3Client();
    const send = vi.spyOn(client, 'send');
    const command = new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: Buffer.from('x') });
    await sendAbortable(client, command, undefined);
    expect(send).toHaveBeenCalledWith(command);
  });
});

describe('PutObject signed with the store’s own SHA-256', () => {
  it('carries the digest of the body as x-amz-content-sha256', async () => {
    const bucket = await freshBucket();
    const client = createS3Client();
    const headers = recordHeaders(client);
    const store = new S3MessageStore({ client, bucket });
    const stored = await store.put(message(1));
    const expected = createHash('sha256').update('Subject: 1\r\n\r\nbody 1\r\n').digest('hex');
    expect(stored.sha256).toBe(expected);
    expect(headers.map((h) => h[PAYLOAD_HASH_HEADER])).toEqual([expected]);
  });

  it('takes the declared digest as it is: the signer does not hash the body again', async () => {
    const bucket = await freshBucket();
    const client = createS3Client();
    const headers = recordHeaders(client);
    // A declared checksum that is not the body's: the header shows which one was signed. (S3 would refuse
    // this request; the emulator checks neither.)
    const declared = createHash('sha256').update('something else').digest();
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'declared',
        Body: Buffer.from('the body'),
        ChecksumSHA256: declared.toString('base64'),
      }),
    );
    expect(headers[0]?.[PAYLOAD_HASH_HEADER]).toBe(declared.toString('hex'));
  });

  it('leaves requests alone that declare no SHA-256 or stream their body', () => {
    const digest = createHash('sha256').update('x').digest('base64');
    const request = (body: unknown) => ({ body, headers: {} });
    expect(knownPayloadHash({ ChecksumSHA256: digest }, request(Buffer.from('x')))).toMatch(/^[0-9a-f]{64}$/);
    expect(knownPayloadHash({}, request(Buffer.from('x')))).toBeUndefined();
    expect(knownPayloadHash({ ChecksumSHA256: digest }, request(Readable.from(['x'])))).toBeUndefined();
    expect(knownPayloadHash({ ChecksumSHA256: 'AAAA' }, request(Buffer.from('x')))).toBeUndefined();
    expect(knownPayloadHash({ ChecksumSHA256: digest }, { body: Buffer.from('x') })).toBeUndefined();
  });
});
