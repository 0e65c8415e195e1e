import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3MessageStoreError, S3ObjectMismatchError } from '../../lib/adapters/errors.ts';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import { createS3Client } from '../../lib/adapters/s3-client.ts';
import {
  DEFAULT_MULTIPART_THRESHOLD_BYTES,
  DEFAULT_PART_SIZE_BYTES,
  S3MessageStore,
} from '../../lib/adapters/s3-message-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { MessageToStore } from '../../lib/ports.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { startStalledServer } from '../support/stalled-server.ts';

const BUCKET = 'mail-archive';
const PREFIX = 'mail/';
const MiB = 1024 * 1024;

let fauxqs: Fauxqs;
let bucketNumber = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A fresh bucket and a store whose client comes from the environment, as the Lambda builds it. */
async function freshStore(options: { multipartThresholdBytes?: number; partSize?: number } = {}) {
  const bucket = `${BUCKET}-${++bucketNumber}`;
  await fauxqs.createBucket(bucket);
  for (const [name, value] of Object.entries(fauxqs.env)) vi.stubEnv(name, value);
  const client = createS3Client();
  const commands = recordCommands(client);
  const store = new S3MessageStore({ client, bucket, keyPrefix: PREFIX, ...options });
  return { bucket, client, commands, store };
}

function message(
  body: Buffer | Buffer[] | Readable,
  options: { uidl?: string | undefined } = {},
): MessageToStore {
  const uidl = 'uidl' in options ? options.uidl : 'UID-1';
  const stream = body instanceof Readable ? body : Readable.from(Array.isArray(body) ? body : [body]);
  return { mailboxId: 'support', uidl, listedSize: undefined, body: stream, retrievedAt: new Date() };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Splits `bytes` into chunks of `size`, the way a socket would deliver them. */
function chunked(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

function recordCommands(client: S3Client): string[] {
  const names: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  return names;
}

/** The HTTP headers of every request, as signed and sent. */
function recordHeaders(client: S3Client): Record<string, string>[] {
  const sent: Record<string, string>[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      sent.push({ ...request.headers });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordHeaders' },
  );
  return sent;
}

/**
 * Sets the SHA-256 checksums that S3 reports and the emulator does not: `upload` for the temporary
 * object (PutObject or CompleteMultipartUpload under `.incoming/`), `copy` for CopyObject.
 */
function reportChecksums(client: S3Client, checksums: { upload?: () => string; copy?: () => string }): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { Key?: string };
      const output = result.output as {
        ChecksumSHA256?: string;
        CopyObjectResult?: { ChecksumSHA256?: string };
      };
      const isUpload =
        context.commandName === 'CompleteMultipartUploadCommand' ||
        (context.commandName === 'PutObjectCommand' && input.Key?.includes('.incoming/'));
      if (isUpload && checksums.upload) output.ChecksumSHA256 = checksums.upload();
      if (context.commandName === 'CopyObjectCommand' && checksums.copy) {
        output.CopyObjectResult = { ...output.CopyObjectResult, ChecksumSHA256: checksums.copy() };
      }
      return result;
    },
    { step: 'initialize', name: 'reportChecksums' },
  );
}

/**
 * Reports on CompleteMultipartUpload the composite SHA-256 S3 computes: the SHA-256 of the digests of the
 * parts as they were sent, in part order, then `-<parts>`. Returns those part digests.
 */
function reportCompositeOfSentParts(client: S3Client): Buffer[] {
  const digests: Buffer[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { PartNumber?: number; Body?: Uint8Array };
      if (context.commandName === 'UploadPartCommand' && input.Body instanceof Uint8Array) {
        digests[(input.PartNumber ?? 0) - 1] = createHash('sha256').update(input.Body).digest();
      }
      const result = await next(args);
      if (context.commandName === 'CompleteMultipartUploadCommand') {
        const composite = createHash('sha256').update(Buffer.concat(digests)).digest('base64');
        Object.assign(result.output as object, {
          ChecksumSHA256: `${composite}-${digests.length}`,
          ChecksumType: 'COMPOSITE',
        });
      }
      return result;
    },
    { step: 'initialize', name: 'reportCompositeOfSentParts' },
  );
  return digests;
}

/** The keys of every DeleteObject sent. */
function recordDeletes(client: S3Client): string[] {
  const keys: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteObjectCommand') keys.push((args.input as { Key: string }).Key);
      return next(args);
    },
    { step: 'initialize', name: 'recordDeletes' },
  );
  return keys;
}

/** A body that delivers `good` and then fails, like a connection dropped in the middle of RETR. */
function failingBody(good: Buffer, failure: Error): Readable {
  return Readable.from(
    (async function* () {
      yield* chunked(good, 64 * 1024);
      throw failure;
    })(),
  );
}

describe('the S3 client from the environment', () => {
  it('uses the custom endpoint with path-style addressing and the region from AWS_REGION', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', fauxqs.endpoint);
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const client = createS3Client();
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('eu-central-1');
    const endpoint = await client.config.endpoint?.();
    expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe(fauxqs.endpoint);
  });

  it('defaults to us-east-1 and virtual-hosted addressing without an endpoint override', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    const client = createS3Client();
    expect(await client.config.region()).toBe('us-east-1');
    expect(client.config.forcePathStyle).toBeFalsy();
  });
});

describe('S3MessageStore, small messages (one PutObject with a SHA-256 checksum)', () => {
  it('stores the bytes unchanged at the documented key with type and metadata', async () => {
    const { bucket, client, commands, store } = await freshStore();
    const bytes = Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n');

    const stored = await store.put(message(bytes, { uidl: 'UID:1/a%' }));

    const key = objectKeyFor(PREFIX, 'support', 'UID:1/a%', sha256(bytes));
    expect(stored).toEqual({
      key,
      location: bucket,
      sha256: sha256(bytes),
      size: bytes.length,
      created: true,
    });
    expect(key).toBe(`mail/support/uidl/UID%3A1%2Fa%25/${sha256(bytes)}.eml`);
    expect(await fauxqs.getObject(bucket, key)).toEqual(bytes);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head.ContentType).toBe('message/rfc822');
    expect(head.Metadata).toEqual({
      'mailbox-id': 'support',
      uidl: 'UID:1/a%',
      sha256: sha256(bytes),
    });
    expect(commands).toEqual(['PutObjectCommand', 'HeadObjectCommand']);
  });

  it('sends our SHA-256 as a plain header (no aws-chunked trailer), with If-None-Match', async () => {
    const { client, store } = await freshStore();
    const headers = recordHeaders(client);
    const bytes = Buffer.from('checked end to end');
    await store.put(message(bytes));
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatchObject({
      'x-amz-checksum-sha256': createHash('sha256').update(bytes).digest('base64'),
      'if-none-match': '*',
      'content-length': String(bytes.length),
    });
    expect(headers[0]?.['content-encoding']).toBeUndefined();
  });

  it('keeps an ASCII UIDL readable in the metadata', async () => {
    const { bucket, client, store } = await freshStore();
    const stored = await store.put(message(Buffer.from('x'), { uidl: 'QmFzZTY0+/==' }));
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: stored.key }));
    expect(head.Metadata?.uidl).toBe('QmFzZTY0+/==');
    expect(stored.key).toBe(`mail/support/uidl/QmFzZTY0%2B%2F%3D%3D/${sha256(Buffer.from('x'))}.eml`);
  });

  it('stores an empty message as an empty object', async () => {
    const { bucket, store } = await freshStore();
    const stored = await store.put(message([]));
    expect(stored.size).toBe(0);
    expect(stored.sha256).toBe(sha256(Buffer.alloc(0)));
    expect(await fauxqs.getObject(bucket, stored.key)).toEqual(Buffer.alloc(0));
  });

  it('keeps binary bytes (NUL, bare CR, 8-bit, chunked oddly) exactly', async () => {
    const { bucket, store } = await freshStore();
    const bytes = Buffer.concat([Buffer.from([0, 13, 0, 10, 0xff, 0xfe, 0x80]), randomBytes(20_000)]);
    const stored = await store.put(message(chunked(bytes, 7)));
    expect(stored.size).toBe(bytes.length);
    expect((await fauxqs.getObject(bucket, stored.key)).equals(bytes)).toBe(true);
  });

  it('names the object by content hash alone when the server has no UIDL', async () => {
    const { store } = await freshStore();
    const bytes = Buffer.from('no uidl here');
    const stored = await store.put(message(bytes, { uidl: undefined }));
    expect(stored.key).toBe(`mail/support/sha256/${sha256(bytes)}.eml`);
  });

  it('reports an existing identical object as not created when S3 refuses the conditional write', async () => {
    const { bucket, client, store } = await freshStore();
    fauxqs.emulateConditionalWrites(client);
    const bytes = Buffer.from('the same message, polled twice');

    const first = await store.put(message(bytes));
    const second = await store.put(message(bytes));

    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(await fauxqs.listKeys(bucket)).toEqual([first.key]);
  });

  it('gives a different message under a reused UIDL its own key, leaving the first intact', async () => {
    const { bucket, store } = await freshStore();
    const first = await store.put(message(Buffer.from('first message'), { uidl: 'reused' }));
    const second = await store.put(message(Buffer.from('second message'), { uidl: 'reused' }));
    expect(second.key).not.toBe(first.key);
    expect(await fauxqs.listKeys(bucket)).toEqual([first.key, second.key].sort());
    expect((await fauxqs.getObject(bucket, first.key)).toString()).toBe('first message');
  });

  it('wraps S3 failures with the bucket and key', async () => {
    const { client } = await freshStore();
    const store = new S3MessageStore({ client, bucket: 'no-such-bucket' });
    const failure = await store.put(message(Buffer.from('x'))).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(S3MessageStoreError);
    expect((failure as S3MessageStoreError).message).toMatch(
      /^s3:\/\/no-such-bucket\/support\/uidl\/UID-1\/[0-9a-f]{64}\.eml: PutObject failed: NoSuchBucket/,
    );
    expect((failure as S3MessageStoreError).cause).toBeDefined();
  });

  it('rethrows the error of a body that fails, unchanged, and stores nothing', async () => {
    const { bucket, store } = await freshStore();
    const dropped = new Error('connection reset while reading the message');
    const failure = await store
      .put(message(failingBody(randomBytes(1000), dropped)))
      .catch((e: unknown) => e);
    expect(failure).toBe(dropped);
    expect(await fauxqs.listKeys(bucket)).toEqual([]);
  });

  it('refuses a body that yields text instead of bytes', async () => {
    const { store } = await freshStore();
    await expect(store.put(message(Readable.from(['decoded text'])))).rejects.toThrow(/must yield Buffers/);
  });
});

describe('S3MessageStore, large messages (multipart upload to a temporary key, then CopyObject)', () => {
  it('stores a 20 MB message byte-identical through multipart upload and cleans up', async () => {
    const { bucket, commands, store } = await freshStore();
    const bytes = randomBytes(20 * 1000 * 1000);

    const stored = await store.put(message(chunked(bytes, 64 * 1024)));

    expect(stored).toMatchObject({ sha256: sha256(bytes), size: bytes.length, created: true });
    expect(await fauxqs.listKeys(bucket)).toEqual([stored.key]);
    expect((await fauxqs.getObject(bucket, stored.key)).equals(bytes)).toBe(true);
    const parts = Math.ceil(bytes.length / DEFAULT_PART_SIZE_BYTES);
    expect(parts).toBe(4); // 5 MiB parts
    expect(commands.filter((name) => name === 'UploadPartCommand')).toHaveLength(parts);
    // The emulator reports no copy checksum, so the store falls back to comparing the size.
    expect(commands).toEqual(
      expect.arrayContaining([
        'CreateMultipartUploadCommand',
        'CompleteMultipartUploadCommand',
        'CopyObjectCommand',
        'HeadObjectCommand',
        'DeleteObjectCommand',
      ]),
    );
  });

  it('takes the streamed path for a body of exactly the threshold', async () => {
    const { bucket, commands, store } = await freshStore({ multipartThresholdBytes: 4096 });
    const bytes = randomBytes(4096);
    const stored = await store.put(message(chunked(bytes, 1000)));
    expect(commands).toContain('CopyObjectCommand');
    expect(await fauxqs.getObject(bucket, stored.key)).toEqual(bytes);
    expect(await fauxqs.listKeys(bucket)).toEqual([stored.key]);
  });

  it('accepts the upload and the copy when the SHA-256 S3 reports for each matches ours', async () => {
    const { bucket, client, commands, store } = await freshStore({ multipartThresholdBytes: 1024 });
    const bytes = randomBytes(5000);
    const digest = createHash('sha256').update(bytes).digest('base64');
    reportChecksums(client, { upload: () => digest, copy: () => digest });
    const stored = await store.put(message(bytes));
    expect(stored.created).toBe(true);
    expect(commands).not.toContain('HeadObjectCommand');
    expect(await fauxqs.listKeys(bucket)).toEqual([stored.key]);
  });

  it('refuses an upload whose SHA-256 differs before anything exists under the final key', async () => {
    const { bucket, client, commands, store } = await freshStore({ multipartThresholdBytes: 1024 });
    reportChecksums(client, { upload: () => createHash('sha256').update('other').digest('base64') });
    await expect(store.put(message(randomBytes(5000)))).rejects.toThrow(/reported for the upload .* differs/);
    expect(commands).not.toContain('CopyObjectCommand');
    expect(await fauxqs.listKeys(bucket)).toEqual([]);
  });

  it('checks the composite checksum of a multipart upload against our own part digests', async () => {
    const partSize = 5 * MiB;
    const bytes = randomBytes(12 * MiB + 1234);
    const parts = [0, 1, 2].map((i) =>
      createHash('sha256')
        .update(bytes.subarray(i * partSize, (i + 1) * partSize))
        .digest(),
    );
    const good = await freshStore({ multipartThresholdBytes: MiB, partSize });
    const sent = reportCompositeOfSentParts(good.client);
    const stored = await good.store.put(message(chunked(bytes, 64 * 1024)));
    // What S3 would report: the composite of the parts as they were actually cut and sent.
    expect(sent).toEqual(parts);
    expect(good.commands).not.toContain('HeadObjectCommand');
    expect((await fauxqs.getObject(good.bucket, stored.key)).equals(bytes)).toBe(true);

    const bad = await freshStore({ multipartThresholdBytes: MiB, partSize });
    const swapped = `${createHash('sha256')
      .update(Buffer.concat([parts[1]!, parts[0]!, parts[2]!]))
      .digest('base64')}-3`;
    reportChecksums(bad.client, { upload: () => swapped });
    await expect(bad.store.put(message(chunked(bytes, 64 * 1024)))).rejects.toThrow(/differs from ours/);
    expect(await fauxqs.listKeys(bad.bucket)).toEqual([]);
  });

  it('fails loudly when the copy differs, and never deletes under the final key', async () => {
    const { bucket, client, store } = await freshStore({ multipartThresholdBytes: 1024 });
    const bytes = randomBytes(5000);
    const deleted = recordDeletes(client);
    reportChecksums(client, {
      upload: () => createHash('sha256').update(bytes).digest('base64'),
      copy: () => createHash('sha256').update('other bytes').digest('base64'),
    });
    const failure = await store.put(message(bytes)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(S3ObjectMismatchError);
    expect((failure as Error).message).toMatch(/is not this message .* stays on the server/);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatch(/^mail\/\.incoming\/support\//);
    expect(await fauxqs.listKeys(bucket)).toEqual([objectKeyFor(PREFIX, 'support', 'UID-1', sha256(bytes))]);
  });

  it('reports an existing identical object as not created and removes the temporary one', async () => {
    const { bucket, client, store } = await freshStore({ multipartThresholdBytes: 1024 });
    fauxqs.emulateConditionalWrites(client);
    const bytes = randomBytes(5000);
    const first = await store.put(message(bytes));
    const second = await store.put(message(bytes));
    expect(second).toEqual({ ...first, created: false });
    expect(await fauxqs.listKeys(bucket)).toEqual([first.key]);
  });

  it('rethrows the error of a body that fails mid-upload and leaves no object behind', async () => {
    const { bucket, store } = await freshStore();
    const dropped = new Error('connection reset in the middle of a large message');
    const body = failingBody(randomBytes(DEFAULT_MULTIPART_THRESHOLD_BYTES + MiB), dropped);
    await expect(store.put(message(body))).rejects.toBe(dropped);
    expect(await fauxqs.listKeys(bucket)).toEqual([]);
  });
});

/** Makes HeadObject of a final key report a stored SHA-256 (ChecksumMode ENABLED), as S3 does and the emulator does not. */
function reportStoredChecksum(client: S3Client, checksum: string, type: 'FULL_OBJECT' | 'COMPOSITE'): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const isFinalKey = !(args.input as { Key?: string }).Key?.includes('.incoming/');
      if (context.commandName === 'HeadObjectCommand' && isFinalKey) {
        Object.assign(result.output as object, { ChecksumSHA256: checksum, ChecksumType: type });
      }
      return result;
    },
    { step: 'initialize', name: 'reportStoredChecksum' },
  );
}

describe('S3MessageStore when the key is taken (412): the existing object must be this message', () => {
  it('counts it as stored when its stored SHA-256 matches, without reading it back', async () => {
    const { client, commands, store } = await freshStore();
    fauxqs.emulateConditionalWrites(client);
    const bytes = Buffer.from('stored once already');
    const first = await store.put(message(bytes));
    reportStoredChecksum(client, createHash('sha256').update(bytes).digest('base64'), 'FULL_OBJECT');
    commands.length = 0;
    const second = await store.put(message(bytes));
    expect(second).toEqual({ ...first, created: false });
    expect(commands).toEqual(['PutObjectCommand', 'HeadObjectCommand']);
  });

  it('reads the object back when S3 holds no SHA-256 for it (the emulator, other tools)', async () => {
    const { client, commands, store } = await freshStore();
    fauxqs.emulateConditionalWrites(client);
    const bytes = Buffer.from('stored by an older tool');
    await store.put(message(bytes));
    commands.length = 0;
    const again = await store.put(message(bytes));
    expect(again.created).toBe(false);
    expect(commands).toEqual(['PutObjectCommand', 'HeadObjectCommand', 'GetObjectCommand']);
  });

  it('reads the object back when its SHA-256 is a composite of unknown parts, and refuses different bytes', async () => {
    const { bucket, client, store } = await freshStore();
    fauxqs.emulateConditionalWrites(client);
    const bytes = Buffer.from('the message');
    const key = objectKeyFor(PREFIX, 'support', 'UID-1', sha256(bytes));
    await fauxqs.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('other') }));
    reportStoredChecksum(client, `${createHash('sha256').update('x').digest('base64')}-2`, 'COMPOSITE');
    const failure = await store.put(message(bytes)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(S3ObjectMismatchError);
    expect((failure as Error).message).toMatch(/its 5 bytes hash to [0-9a-f]{64}/);
    expect(await fauxqs.getObject(bucket, key)).toEqual(Buffer.from('other'));
  });

  it('refuses, with S3ObjectMismatchError, an object whose stored SHA-256 differs, and leaves it', async () => {
    const { bucket, client, store } = await freshStore({ multipartThresholdBytes: 1024 });
    fauxqs.emulateConditionalWrites(client);
    const bytes = randomBytes(5000);
    const key = objectKeyFor(PREFIX, 'support', 'UID-1', sha256(bytes));
    await fauxqs.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('altered') }));
    reportStoredChecksum(client, createHash('sha256').update('altered').digest('base64'), 'FULL_OBJECT');
    const failure = await store.put(message(bytes)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(S3ObjectMismatchError);
    expect((failure as S3ObjectMismatchError).key).toBe(key);
    expect(await fauxqs.listKeys(bucket)).toEqual([key]);
    expect(await fauxqs.getObject(bucket, key)).toEqual(Buffer.from('altered'));
  });
});

describe('S3MessageStore and the run deadline', () => {
  it.each([
    ['one PutObject', 64 * 1024],
    ['a multipart upload', 1024],
  ])(
    'abandons %s to an endpoint that never answers when the signal aborts, closing its connection',
    async (_what, threshold) => {
      const stalled = await startStalledServer();
      try {
        const client = new S3Client({
          endpoint: stalled.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          forcePathStyle: true,
        });
        const store = new S3MessageStore({ client, bucket: 'b', multipartThresholdBytes: threshold });
        const signal = Deadline.after(300).signal();
        const failure = await store
          .put({ ...message(randomBytes(8000)), signal })
          .catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(S3MessageStoreError);
        expect((failure as Error).message).toMatch(/abandoned: the run's deadline passed/);
        expect(stalled.requests()).toBeGreaterThan(0);
        // Nothing is left waiting for an answer (which would keep a CLI process alive for the socket timeout).
        await vi.waitFor(() => expect(stalled.openConnections()).toBe(0), { timeout: 2000 });
      } finally {
        await stalled.close();
      }
    },
  );

  it('starts nothing once the deadline has passed', async () => {
    const { commands, store } = await freshStore();
    const signal = Deadline.after(0).signal();
    await expect(store.put({ ...message(Buffer.from('late')), signal })).rejects.toThrow(/deadline passed/);
    expect(commands).toEqual([]);
  });
});

const corpusDir =
  process.env.MAIL_CORPUS ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/corpus');

describe.skipIf(!existsSync(corpusDir))('S3MessageStore with the mail corpus', () => {
  it('stores every corpus message byte-identical', async () => {
    const { bucket, store } = await freshStore();
    const files = readdirSync(corpusDir).filter((name) => name.endsWith('.eml'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const bytes = readFileSync(path.join(corpusDir, name));
      const stored = await store.put(message(chunked(bytes, 1500), { uidl: name }));
      expect((await fauxqs.getObject(bucket, stored.key)).equals(bytes), name).toBe(true);
    }
  });
});
