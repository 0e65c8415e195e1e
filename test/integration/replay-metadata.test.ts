/**
 * What the S3 store keeps of a message's notification inputs (lib/replay/metadata.ts), read back with
 * HeadObject from fauxqs: on the single PutObject and on the multipart path's CopyObject, non-ASCII
 * settings percent-encoded, the processing time the notification carries, and the 2 KB limit kept.
 */
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { S3_USER_METADATA_MAX_BYTES } from '../../lib/aws-limits.ts';
import type { MessageToStore, NotificationContext } from '../../lib/ports.ts';
import { metadataBytes, readKeptInputs } from '../../lib/replay/metadata.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';

const MiB = 1024 * 1024;
let fauxqs: Fauxqs;
let bucketNumber = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});

async function freshStore(multipartThresholdBytes?: number) {
  const bucket = `replay-metadata-${++bucketNumber}`;
  await fauxqs.createBucket(bucket);
  const store = new S3MessageStore({
    client: fauxqs.s3,
    bucket,
    keyPrefix: 'mail/',
    ...(multipartThresholdBytes === undefined ? {} : { multipartThresholdBytes }),
  });
  return { bucket, store };
}

const retrievedAt = new Date('2026-12-07T05:01:02.345Z');

function message(body: Buffer, context: Partial<NotificationContext> = {}, uidl = 'UID-1'): MessageToStore {
  return {
    mailboxId: 'support',
    uidl,
    listedSize: body.length,
    body: Readable.from([body]),
    retrievedAt,
    notificationContext: {
      host: 'pop.example.com',
      username: 'support@example.com',
      trustedAuthservId: undefined,
      utf8: false,
      processingTimeMillis: () => 42,
      ...context,
    },
  };
}

async function metadataOf(bucket: string, key: string): Promise<Record<string, string>> {
  const head = await fauxqs.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return head.Metadata ?? {};
}

describe('the S3 store keeps what replay needs in the metadata', () => {
  it('on a single PutObject: retrieval and processing time, host, username, settings, UTF-8 mode', async () => {
    const { bucket, store } = await freshStore();
    const stored = await store.put(message(Buffer.from('Subject: hi\r\n\r\nbody\r\n')));
    const metadata = await metadataOf(bucket, stored.key);
    expect(metadata).toMatchObject({
      'mailbox-id': 'support',
      uidl: 'UID-1',
      'retrieved-at': '2026-12-07T05:01:02.345Z',
      'processing-ms': '42',
      host: 'pop.example.com',
      username: 'support@example.com',
      'trusted-authserv-id': 'null',
      utf8: 'false',
    });
    expect(readKeptInputs(metadata)).toEqual({
      retrievedAt,
      processingTimeMillis: 42,
      host: 'pop.example.com',
      username: 'support@example.com',
      trustedAuthservId: { setting: undefined },
      utf8: { mode: false },
    });
  });

  it('on the multipart path, through CopyObject, with the processing time read as the copy goes out', async () => {
    const { bucket, store } = await freshStore(5 * MiB);
    let calls = 0;
    const body = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(6 * MiB, 0x61)]);
    const stored = await store.put(message(body, { processingTimeMillis: () => 1000 + calls++ }));
    const kept = readKeptInputs(await metadataOf(bucket, stored.key));
    expect(kept.processingTimeMillis).toBe(1000);
    expect(calls).toBe(1);
    expect(kept.retrievedAt).toEqual(retrievedAt);
  });

  it('percent-encodes a non-ASCII username and keeps a list of authserv-ids and UTF-8 mode', async () => {
    const { bucket, store } = await freshStore();
    const context = {
      username: ' jürgen 100%@exämple.de',
      trustedAuthservId: ['mx.example.com', ''],
      utf8: true,
    };
    const stored = await store.put(message(Buffer.from('Subject: x\r\n\r\n'), context));
    const metadata = await metadataOf(bucket, stored.key);
    expect(metadata.username).toBe('%20j%C3%BCrgen%20100%25@ex%C3%A4mple.de');
    expect(readKeptInputs(metadata)).toMatchObject({
      username: ' jürgen 100%@exämple.de',
      trustedAuthservId: { setting: ['mx.example.com', ''] },
      utf8: { mode: true },
    });
  });

  it('stays within 2 KB with a 1 KB UIDL: the settings --config can give back are left out first', async () => {
    const { bucket, store } = await freshStore();
    const longUidl = `${'\u00e9'.repeat(300)}`; // outside RFC 1939: kept percent-encoded, 1,800 bytes → left out
    const nearLimit = 'U'.repeat(1000); // outside RFC 1939 (over 70), kept as is: 1,000 bytes
    const context = { username: 'u'.repeat(900), host: 'h'.repeat(200) };
    const stored = await store.put(message(Buffer.from('Subject: y\r\n\r\n'), context, nearLimit));
    const metadata = await metadataOf(bucket, stored.key);
    expect(metadataBytes(metadata)).toBeLessThanOrEqual(S3_USER_METADATA_MAX_BYTES);
    expect(metadata.uidl).toBe(nearLimit);
    expect(metadata['retrieved-at']).toBe('2026-12-07T05:01:02.345Z');
    expect(metadata.username).toBeUndefined();
    expect(metadata['trusted-authserv-id']).toBeUndefined();
    expect(metadata.host).toBe('h'.repeat(200));
    const other = await store.put(message(Buffer.from('Subject: z\r\n\r\n'), {}, longUidl));
    expect((await metadataOf(bucket, other.key)).host).toBe('pop.example.com');
  });
});
