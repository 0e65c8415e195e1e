/**
 * The store's multipart uploader against the S3 emulator: parts cut at the part size whatever the chunking
 * of the body, each sent with its own SHA-256, no more parts in flight than allowed, and an upload that
 * fails part-way aborted once its parts in flight have settled; chunks already copied into a part are
 * garbage, and a body that stalls gives way to the deadline.
 */
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadInParts } from '../../lib/adapters/multipart-upload.ts';
import { createS3Client } from '../../lib/adapters/s3-client.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';

const PART = 5 * 1024 * 1024;
let fauxqs: Fauxqs;
let client: S3Client;

beforeAll(async () => {
  fauxqs = await startFauxqs();
  await fauxqs.createBucket('parts');
  client = createS3Client({
    endpoint: fauxqs.endpoint,
    region: fauxqs.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterAll(async () => {
  await fauxqs?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

async function* chunks(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

function request(
  key: string,
  overrides: { client?: S3Client; queueSize?: number; signal?: AbortSignal } = {},
) {
  return {
    client: overrides.client ?? client,
    bucket: 'parts',
    key,
    contentType: 'message/rfc822',
    partSize: PART,
    queueSize: overrides.queueSize ?? 2,
    signal: overrides.signal,
  };
}

/** A client whose UploadPart requests are recorded (size, checksum sent, how many were in flight). */
function recordingClient(options: { failPart?: number } = {}) {
  const recorded = createS3Client({
    endpoint: fauxqs.endpoint,
    region: fauxqs.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const parts: { number: number; bytes: number; checksum: string | undefined }[] = [];
  const commands: string[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  recorded.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '?');
      if (context.commandName !== 'UploadPartCommand') return next(args);
      const input = args.input as { PartNumber: number; Body: Buffer; ChecksumSHA256?: string };
      parts.push({ number: input.PartNumber, bytes: input.Body.length, checksum: input.ChecksumSHA256 });
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (input.PartNumber === options.failPart) throw new Error(`part ${input.PartNumber} refused`);
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'recordParts' },
  );
  return { client: recorded, parts, commands, mostInFlight: () => mostInFlight };
}

describe('uploadInParts', () => {
  it('cuts the same parts however the body is chunked, and the object is the bytes', async () => {
    const bytes = randomBytes(2 * PART + 12_345);
    const expected = [0, 1, 2].map((i) => sha256(bytes.subarray(i * PART, (i + 1) * PART)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 * 1024 * 1024 }), { minLength: 1, maxLength: 4 }),
        async (sizes) => {
          const key = `chunked-${sizes.join('-')}`;
          const uploaded = await uploadInParts(request(key), chunks(bytes, sizes));
          expect(uploaded.partDigests).toEqual(expected);
          expect((await fauxqs.getObject('parts', key)).equals(bytes)).toBe(true);
        },
      ),
      { numRuns: 6 },
    );
  });

  it('sends each part with its SHA-256, never an empty last part, and no more parts at once than allowed', async () => {
    const bytes = randomBytes(4 * PART);
    const recorded = recordingClient();
    const uploaded = await uploadInParts(
      request('exact', { client: recorded.client }),
      chunks(bytes, [64 * 1024]),
    );
    expect(recorded.parts.map((part) => part.bytes)).toEqual([PART, PART, PART, PART]);
    expect(recorded.parts.map((part) => part.checksum)).toEqual(
      uploaded.partDigests.map((digest) => digest.toString('base64')),
    );
    expect(recorded.mostInFlight()).toBe(2);
  });

  it('aborts the upload when a part fails, after the parts in flight settle, and rethrows', async () => {
    const recorded = recordingClient({ failPart: 2 });
    const failure = await uploadInParts(
      request('failing', { client: recorded.client }),
      chunks(randomBytes(3 * PART), [256 * 1024]),
    ).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('part 2 refused');
    expect(recorded.commands.at(-1)).toBe('AbortMultipartUploadCommand');
    expect(recorded.commands).not.toContain('CompleteMultipartUploadCommand');
    expect(await fauxqs.listKeys('parts', 'failing')).toEqual([]);
  });

  it('lets the chunks it has copied into a part be collected while the upload goes on', async () => {
    setFlagsFromString('--expose-gc');
    const collectGarbage = runInNewContext('gc') as () => void;
    const chunkSize = 256 * 1024;
    const count = (3 * PART) / chunkSize;
    const read: WeakRef<Buffer>[] = [];
    let stillReachable = -1;
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < count; i++) {
        if (i === count - 1) {
          await nextTurn();
          collectGarbage();
          // Every chunk but the last two read is in a part buffer by now, or sent: none should be alive.
          stillReachable = read.slice(0, -2).filter((chunk) => chunk.deref() !== undefined).length;
        }
        const chunk = Buffer.alloc(chunkSize, i);
        read.push(new WeakRef(chunk));
        yield chunk;
      }
    }
    // With a deadline, as every run has: each read is raced against it.
    const deadline = new AbortController();
    await uploadInParts(request('collected', { signal: deadline.signal }), body());
    expect(read).toHaveLength(count);
    expect(stillReachable).toBe(0);
  });

  it('stops waiting for a stalled body at the deadline, rejecting with its reason and sending no more', async () => {
    const recorded = recordingClient();
    const deadline = new AbortController();
    async function* stalled(): AsyncGenerator<Buffer> {
      yield randomBytes(1024);
      await new Promise(() => {}); // the POP3 server stops sending
    }
    setTimeout(() => deadline.abort(new Error('deadline')), 50);
    const failure = await uploadInParts(
      request('stalled', { client: recorded.client, signal: deadline.signal }),
      stalled(),
    ).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('deadline');
    // Past the deadline nothing more is sent: the bucket's lifecycle rule removes the incomplete upload.
    expect(recorded.commands).toEqual(['CreateMultipartUploadCommand']);
  });
});
