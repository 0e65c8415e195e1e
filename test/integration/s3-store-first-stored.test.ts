/**
 * When the key is already taken (412: a run cut off before DELE or QUIT stored it), the S3 store returns
 * the retrieval and processing time the existing object keeps (`StoredMessage.firstStored`), read from the
 * HeadObject its 412 check makes anyway: on the single PutObject and on the multipart path, nothing when the
 * object keeps no such times (stored before they were kept) or keeps a value that does not parse.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
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

/** A fresh bucket and a store on a client of its own that sees S3's conditional writes. */
async function freshStore(multipartThresholdBytes?: number) {
  const bucket = `first-stored-${++bucketNumber}`;
  await fauxqs.createBucket(bucket);
  const client = new S3Client({
    endpoint: fauxqs.endpoint,
    region: fauxqs.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    forcePathStyle: true,
  });
  const commands = recordCommands(client); // before the refusal, which throws without going on
  fauxqs.emulateConditionalWrites(client);
  const store = new S3MessageStore({
    client,
    bucket,
    keyPrefix: 'mail/',
    ...(multipartThresholdBytes === undefined ? {} : { multipartThresholdBytes }),
  });
  return { bucket, commands, store };
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

function message(body: Buffer, retrievedAt: Date, processingTimeMillis: number): MessageToStore {
  return {
    mailboxId: 'support',
    uidl: 'UID-1',
    listedSize: body.length,
    body: Readable.from([body]),
    retrievedAt,
    notificationContext: {
      host: 'pop.example.com',
      username: 'support@example.com',
      trustedAuthservId: undefined,
      utf8: false,
      processingTimeMillis: () => processingTimeMillis,
    },
  };
}

const firstRun = new Date('2026-12-07T05:01:02.345Z');
const secondRun = new Date('2026-12-07T05:16:00.001Z');

describe('S3MessageStore: the times an existing object keeps, returned on 412', () => {
  it('single PutObject: the first run’s times, with no request beyond the 412 check’s own', async () => {
    const { commands, store } = await freshStore();
    const bytes = Buffer.from('Subject: once\r\n\r\nbody\r\n');
    const first = await store.put(message(bytes, firstRun, 42));
    expect(first).not.toHaveProperty('firstStored');
    commands.length = 0;
    const again = await store.put(message(bytes, secondRun, 7));
    expect(again).toEqual({
      ...first,
      created: false,
      firstStored: { retrievedAt: firstRun, processingTimeMillis: 42 },
    });
    // The emulator keeps no SHA-256, so the check reads the object back; the times come from its HEAD.
    expect(commands).toEqual(['PutObjectCommand', 'HeadObjectCommand', 'GetObjectCommand']);
  });

  it('multipart path (CopyObject refused): the first run’s times', async () => {
    const { store } = await freshStore(1024);
    const bytes = randomBytes(5000);
    const first = await store.put(message(bytes, firstRun, 1234));
    const again = await store.put(message(bytes, secondRun, 5));
    expect(again).toEqual({
      ...first,
      created: false,
      firstStored: { retrievedAt: firstRun, processingTimeMillis: 1234 },
    });
  });

  it('only both times, both readable: none for an object stored before they were kept or with one odd', async () => {
    const { bucket, store } = await freshStore();
    const kept = Buffer.from('Subject: both kept\r\n\r\n');
    const old = Buffer.from('Subject: stored long ago\r\n\r\n');
    const odd = Buffer.from('Subject: odd metadata\r\n\r\n');
    const half = Buffer.from('Subject: one time only\r\n\r\n');
    await putDirectly(bucket, kept, { 'retrieved-at': firstRun.toISOString(), 'processing-ms': '42' });
    await putDirectly(bucket, old, {});
    await putDirectly(bucket, odd, { 'retrieved-at': 'yesterday', 'processing-ms': '42' });
    await putDirectly(bucket, half, { 'retrieved-at': firstRun.toISOString() });
    const again = await store.put(message(kept, secondRun, 7));
    expect(again.firstStored).toEqual({ retrievedAt: firstRun, processingTimeMillis: 42 });
    for (const bytes of [old, odd, half]) {
      const stored = await store.put(message(bytes, secondRun, 7));
      expect(stored.created).toBe(false);
      expect(stored).not.toHaveProperty('firstStored');
    }
  });

  /** An object under the store's key written as an older store (or another tool) would have. */
  async function putDirectly(bucket: string, bytes: Buffer, extra: Record<string, string>) {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = objectKeyFor('mail/', 'support', 'UID-1', sha256);
    const Metadata = { 'mailbox-id': 'support', sha256, uidl: 'UID-1', ...extra };
    await fauxqs.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata }));
  }
});
