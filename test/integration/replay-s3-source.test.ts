/**
 * The header section `replay` reads back from S3 (ranged GetObjects through HeaderCollector,
 * lib/replay/s3-source.ts) is what the pipeline's HeaderCollector kept while the message streamed past:
 * for header sections that fit, that end at or around the range boundaries, and that are too long to
 * keep whole (then the fields the verdicts and commonHeaders need are still found after the cut).
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { DEFAULT_MAX_HEADER_BYTES, HeaderCollector } from '../../lib/notification/index.ts';
import { RequestPacer } from '../../lib/replay/pacer.ts';
import { S3ReplaySource } from '../../lib/replay/s3-source.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';

const BUCKET = 'replay-source';
let fauxqs: Fauxqs;
let store: S3MessageStore;
let source: S3ReplaySource;

beforeAll(async () => {
  fauxqs = await startFauxqs();
  await fauxqs.createBucket(BUCKET);
  store = new S3MessageStore({ client: fauxqs.s3, bucket: BUCKET });
  source = new S3ReplaySource({ client: fauxqs.s3, bucket: BUCKET, pacer: new RequestPacer(10_000) });
});
afterAll(async () => {
  await fauxqs?.stop();
});

/** A message whose header section is `headerBytes` long: Received lines, then Subject and the empty line. */
function messageWithHeader(headerBytes: number): Buffer {
  const tail = 'Subject: the end\r\nAuthentication-Results: mx.example.com; spf=pass\r\n\r\n';
  const line = 'Received: from relay.example.net by mx.example.com; Mon, 7 Dec 2026\r\n';
  let received = '';
  while (received.length + line.length + tail.length <= headerBytes) received += line;
  const filler = headerBytes - received.length - tail.length;
  const padded = filler >= 10 ? `X-Pad: ${'p'.repeat(filler - 9)}\r\n` : '';
  const header = `${received}${padded}${tail}`;
  return Buffer.concat([Buffer.from(header), Buffer.alloc(200_000, 0x62)]);
}

function keptWhileStreaming(bytes: Buffer) {
  const collector = new HeaderCollector();
  for (let i = 0; i < bytes.length; i += 16 * 1024) collector.write(bytes.subarray(i, i + 16 * 1024));
  return { headerBytes: collector.headerBytes(), truncated: collector.truncated };
}

describe('the header section read back from S3', () => {
  it.each([
    2_000,
    DEFAULT_MAX_HEADER_BYTES - 1,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_HEADER_BYTES + 1,
    DEFAULT_MAX_HEADER_BYTES + 1024,
    DEFAULT_MAX_HEADER_BYTES + 1025,
    300_000,
  ])('equals what the pipeline kept, for a header section of %i bytes', async (headerBytes) => {
    const bytes = messageWithHeader(headerBytes);
    const stored = await store.put({
      mailboxId: 'm',
      uidl: `h${headerBytes}`,
      listedSize: bytes.length,
      body: Readable.from([bytes]),
      retrievedAt: new Date(),
    });
    const object = await source.head(stored.key);
    expect(object.size).toBe(bytes.length);
    const read = await source.headerSection(object);
    const kept = keptWhileStreaming(bytes);
    expect(read.truncated).toBe(kept.truncated);
    expect(read.headerBytes.equals(kept.headerBytes)).toBe(true);
    expect(read.headerBytes.toString('latin1')).toContain('Subject: the end');
  });

  it('lists in key order after a given key, in pages', async () => {
    for (const n of [1, 2, 3, 4]) {
      const body = Readable.from([Buffer.from(`Subject: ${n}\r\n\r\n`)]);
      await store.put({
        mailboxId: 'list',
        uidl: `u${n}`,
        listedSize: undefined,
        body,
        retrievedAt: new Date(),
      });
    }
    const keys = await fauxqs.listKeys(BUCKET, 'list/');
    expect(keys).toHaveLength(4);
    const pages: string[][] = [];
    for await (const page of source.list('list/', keys[1])) pages.push(page.map((entry) => entry.key));
    expect(pages.flat()).toEqual(keys.slice(2));
  });
});
