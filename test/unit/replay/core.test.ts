/**
 * The core of `replay` without AWS: the metadata codec, the time range, the resume cursor, the pacer and
 * the rebuild of a notification's inputs from an object.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKeyFor } from '../../../lib/adapters/object-key.ts';
import { S3_USER_METADATA_MAX_BYTES } from '../../../lib/aws-limits.ts';
import {
  buildNotification,
  HeaderCollector,
  type NotificationInput,
} from '../../../lib/notification/index.ts';
import { ResumeCursor } from '../../../lib/replay/cursor.ts';
import {
  decodeMetadataText,
  encodeMetadataText,
  keptInputsMetadata,
  metadataBytes,
  readKeptInputs,
} from '../../../lib/replay/metadata.ts';
import { RequestPacer } from '../../../lib/replay/pacer.ts';
import { CLOCK_SKEW_MARGIN_MS, inRange, mayBeInRange, parseRangeTime } from '../../../lib/replay/range.ts';
import { rebuildInput, type StoredObject } from '../../../lib/replay/rebuild.ts';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('metadata text', () => {
  it.each([['plain@example.com'], [' leading and trailing '], ['100% jürgen 😀'], ['a\r\nb\tc'], ['%41']])(
    '%j round-trips through printable ASCII without blanks',
    (text) => {
      const encoded = encodeMetadataText(text);
      expect(encoded).toMatch(/^[\x21-\x7e]*$/);
      expect(decodeMetadataText(encoded)).toBe(text);
    },
  );

  it('counts a value it cannot have written as not kept', () => {
    expect(decodeMetadataText('%E0%A4%A')).toBeUndefined();
    expect(readKeptInputs({ 'retrieved-at': 'yesterday', 'processing-ms': '-3', username: '%ZZ' })).toEqual(
      {},
    );
    expect(readKeptInputs({ 'trusted-authserv-id': '{"a":1}' })).toEqual({});
  });

  it('reads back what it wrote, and an absent utf8 beside the times as "left out"', () => {
    const inputs = {
      retrievedAt: new Date('2026-12-01T00:00:00.001Z'),
      processingTimeMillis: 7,
      host: 'pop.example.com',
      username: 'ü',
      trustedAuthservId: 'mx.example.com',
      utf8: undefined,
    };
    const entries = keptInputsMetadata(inputs, {});
    expect(entries.utf8).toBeUndefined();
    expect(readKeptInputs(entries)).toEqual({
      retrievedAt: inputs.retrievedAt,
      processingTimeMillis: 7,
      host: 'pop.example.com',
      username: 'ü',
      trustedAuthservId: { setting: 'mx.example.com' },
      utf8: { mode: undefined },
    });
  });

  it('never lets the whole metadata pass 2 KB', () => {
    const existing = { 'mailbox-id': 'm', sha256: 'a'.repeat(64), uidl: 'u'.repeat(1024) };
    const inputs = {
      retrievedAt: new Date(),
      processingTimeMillis: 123456,
      host: 'h'.repeat(253),
      username: 'ü'.repeat(300),
      trustedAuthservId: ['x'.repeat(200)],
      utf8: true,
    };
    const entries = keptInputsMetadata(inputs, existing);
    expect(metadataBytes({ ...existing, ...entries })).toBeLessThanOrEqual(S3_USER_METADATA_MAX_BYTES);
    expect(Object.keys(entries).sort()).toEqual(['host', 'processing-ms', 'retrieved-at', 'utf8']);
  });
});

describe('time range', () => {
  const since = new Date('2026-12-01T00:00:00Z');
  const until = new Date('2026-12-02T00:00:00Z');

  it('includes since and excludes until, so adjacent ranges neither overlap nor leave a gap', () => {
    expect(inRange({ since, until }, since)).toBe(true);
    expect(inRange({ since, until }, until)).toBe(false);
    expect(inRange({ since: until }, until)).toBe(true);
    expect(inRange({ since, until }, new Date(since.getTime() - 1))).toBe(false);
    expect(inRange({}, new Date(0))).toBe(true);
  });

  it('rules out by LastModified only what was written before since, less the clock margin', () => {
    const early = new Date(since.getTime() - CLOCK_SKEW_MARGIN_MS - 1);
    expect(mayBeInRange({ since }, early)).toBe(false);
    expect(mayBeInRange({ since }, new Date(since.getTime() - CLOCK_SKEW_MARGIN_MS))).toBe(true);
    // No bound from above: a long run or a copy of the bucket writes old messages late.
    expect(mayBeInRange({ since, until }, new Date(until.getTime() + 86_400_000))).toBe(true);
    expect(mayBeInRange({ since }, undefined)).toBe(true);
  });

  it('takes a date or a date-time with its zone, and refuses a time without one', () => {
    expect(parseRangeTime('2026-12-01', '--since')).toEqual(since);
    expect(parseRangeTime('2026-12-01T01:00:00+01:00', '--since')).toEqual(since);
    expect(() => parseRangeTime('2026-12-01T00:00:00', '--since')).toThrow(/with its zone/);
    expect(() => parseRangeTime('yesterday', '--until')).toThrow(/--until needs/);
  });
});

describe('resume cursor', () => {
  it('is the last key up to which everything is done, whatever order they finish in', () => {
    const cursor = new ResumeCursor('a');
    for (const key of ['b', 'c', 'd']) cursor.begin(key);
    cursor.finish('c');
    expect(cursor.resumeAfter).toBe('a');
    cursor.finish('b');
    expect(cursor.resumeAfter).toBe('c');
    expect(cursor.pending).toBe(1);
    cursor.finish('d');
    expect(cursor.resumeAfter).toBe('d');
  });

  it('refuses keys out of listing order (UTF-8 byte order, as S3 lists)', () => {
    const cursor = new ResumeCursor();
    cursor.begin('a/\uff5e');
    expect(() => cursor.begin('a/\u00e9')).toThrow(/out of listing order/);
  });
});

describe('request pacer', () => {
  it('hands out turns no closer than 1/rate apart, in call order', async () => {
    let now = 0;
    const started: number[] = [];
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const pacer = new RequestPacer(4, clock);
    for (let i = 0; i < 5; i++) {
      await pacer.turn();
      started.push(now);
    }
    expect(started).toEqual([0, 250, 500, 750, 1000]);
  });
});

describe('rebuild of the inputs from an object', () => {
  const bytes = Buffer.from('From: a@example.com\r\nSubject: hi\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n');
  const digest = sha256(bytes);
  const where = { bucket: 'mail', keyPrefix: 'in/' };

  function original(uidl: string | undefined): NotificationInput {
    const collector = new HeaderCollector();
    collector.write(bytes);
    return {
      mailboxId: 'support',
      host: 'pop.example.com',
      username: 'support@example.com',
      uidl,
      size: bytes.length,
      sha256: digest,
      retrievedAt: new Date('2026-12-07T05:00:00.123Z'),
      processingTimeMillis: 31,
      bucketName: 'mail',
      objectKey: objectKeyFor('in/', 'support', uidl, digest),
      headerBytes: collector.headerBytes(),
      headerSectionTruncated: collector.truncated,
      trustedAuthservId: ['mx.example.com'],
      utf8: false,
    };
  }

  /** The object as the S3 store writes it for this input. */
  function storedFor(input: NotificationInput, uidlMetadata: string | undefined): StoredObject {
    const own = {
      'mailbox-id': input.mailboxId,
      sha256: input.sha256,
      ...(uidlMetadata === undefined ? {} : { uidl: uidlMetadata }),
    };
    const kept = keptInputsMetadata(
      { ...input, trustedAuthservId: input.trustedAuthservId, utf8: input.utf8 },
      own,
    );
    return {
      key: input.objectKey,
      size: input.size,
      lastModified: new Date('2026-12-07T05:00:01Z'),
      metadata: { ...own, ...kept },
    };
  }

  it.each([
    ['an RFC 1939 UIDL (uidl/ folder)', 'UID-1/%x', 'UID-1/%x'],
    [
      'a UIDL outside RFC 1939 (uidl-sha256/ folder, kept encoded)',
      'ünïcode uidl',
      '%C3%BCn%C3%AFcode%20uidl',
    ],
    ['no UIDL (sha256/ folder)', undefined, undefined],
  ])('rebuilds the original exactly for %s', (_name, uidl, uidlMetadata) => {
    const input = original(uidl);
    const object = storedFor(input, uidlMetadata);
    const rebuilt = rebuildInput(
      object,
      { headerBytes: input.headerBytes, truncated: false },
      where,
      undefined,
    );
    expect(rebuilt).toMatchObject({ kind: 'input', missing: [] });
    if (rebuilt.kind !== 'input') return;
    expect(buildNotification(rebuilt.input).body).toBe(buildNotification(input).body);
  });

  it('names what an object stored before the inputs were kept lacks, and fills it from --config', () => {
    const input = original('UID1');
    const object = {
      ...storedFor(input, 'UID1'),
      metadata: { 'mailbox-id': 'support', sha256: digest, uidl: 'UID1' },
    };
    const header = { headerBytes: input.headerBytes, truncated: false };
    expect(rebuildInput(object, header, where, undefined)).toMatchObject({
      kind: 'unusable',
      problem: expect.stringContaining('--config'),
    });
    const settings = new Map([['support', { host: 'h', username: 'u', trustedAuthservId: undefined }]]);
    const rebuilt = rebuildInput(object, header, where, settings);
    expect(rebuilt).toMatchObject({
      kind: 'input',
      input: { host: 'h', username: 'u', retrievedAt: object.lastModified, processingTimeMillis: 0 },
    });
    if (rebuilt.kind !== 'input') return;
    expect(rebuilt.missing).toEqual([
      'host (from --config)',
      'username (from --config)',
      'trustedAuthservId (from --config)',
      'retrievedAt (LastModified instead)',
      'processingTimeMillis (0 instead)',
      'utf8 (left out)',
    ]);
    expect(rebuilt.input.utf8).toBeUndefined();
  });

  it('refuses an object whose key is not the store key for it under this key prefix', () => {
    const input = original('UID1');
    const object = storedFor(input, 'UID1');
    const header = { headerBytes: input.headerBytes, truncated: false };
    expect(rebuildInput(object, header, { ...where, keyPrefix: '' }, undefined)).toMatchObject({
      kind: 'unusable',
    });
    expect(rebuildInput({ ...object, metadata: {} }, header, where, undefined)).toMatchObject({
      kind: 'unusable',
    });
  });
});
