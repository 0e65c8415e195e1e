import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalMessageStore } from '../../../lib/adapters/local-message-store.ts';
import {
  decodeKeySegment,
  encodeKeySegment,
  MAX_OBJECT_KEY_BYTES,
  objectKeyFor,
} from '../../../lib/adapters/object-key.ts';
import type { MessageToStore } from '../../../lib/ports.ts';

const HASH = 'ab'.repeat(32);

describe('object keys', () => {
  it('puts a message with a UIDL under its mailbox, encoded UIDL and content hash', () => {
    expect(objectKeyFor('mail/', 'support', 'UID-1.a_b', HASH)).toBe(
      `mail/support/uidl/UID-1.a_b/${HASH}.eml`,
    );
  });

  it('puts a message without a UIDL under its content hash alone', () => {
    expect(objectKeyFor('', 'support', undefined, HASH)).toBe(`support/sha256/${HASH}.eml`);
  });

  it('percent-encodes every octet outside [A-Za-z0-9._-], including "/" and "%"', () => {
    expect(encodeKeySegment('a/b%c d+é~')).toBe('a%2Fb%25c%20d%2B%C3%A9%7E');
    expect(encodeKeySegment('a..b')).toBe('a..b');
  });

  it('encodes the dots of a "." or ".." UIDL, which path tools would read as a folder', () => {
    expect(encodeKeySegment('.')).toBe('%2E');
    expect(encodeKeySegment('..')).toBe('%2E%2E');
    expect(decodeKeySegment('%2E%2E')).toBe('..');
    expect(objectKeyFor('', 'support', '..', HASH)).toBe(`support/uidl/%2E%2E/${HASH}.eml`);
    expect(objectKeyFor('', 'support', '.', HASH)).toBe(`support/uidl/%2E/${HASH}.eml`);
  });

  it.each([
    ['longer than 70 characters', 'x'.repeat(71)],
    ['with a control character', 'a\u0001b'],
    ['with an 8-bit character', 'caf\u00e9'],
  ])('keys a UIDL %s (outside RFC 1939 §7) by its SHA-256', (_what, uidl) => {
    const uidlHash = createHash('sha256').update(uidl).digest('hex');
    expect(objectKeyFor('mail/', 'support', uidl, HASH)).toBe(
      `mail/support/uidl-sha256/${uidlHash}/${HASH}.eml`,
    );
  });

  it('round-trips any UIDL through the encoding, and the result is one path segment', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 70 }), (uidl) => {
        const segment = encodeKeySegment(uidl);
        expect(segment).toMatch(/^[A-Za-z0-9._%-]*$/);
        expect(segment).not.toMatch(/^\.{1,2}$/);
        expect(decodeKeySegment(segment)).toBe(uidl);
      }),
    );
  });

  it('keeps distinct UIDLs apart', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        fc.pre(a !== b);
        expect(objectKeyFor('', 'm', a, HASH)).not.toBe(objectKeyFor('', 'm', b, HASH));
      }),
    );
  });

  it('replaces a UIDL too long for an S3 key by its SHA-256', () => {
    const uidl = '%'.repeat(400);
    const key = objectKeyFor('', 'support', uidl, HASH);
    const uidlHash = createHash('sha256').update(uidl).digest('hex');
    expect(key).toBe(`support/uidl-sha256/${uidlHash}/${HASH}.eml`);
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(MAX_OBJECT_KEY_BYTES);
  });

  it('refuses a hash that is not lowercase hex SHA-256', () => {
    expect(() => objectKeyFor('', 'support', 'u', 'AB'.repeat(32))).toThrow(/SHA-256/);
  });

  it('refuses to decode a malformed escape', () => {
    expect(() => decodeKeySegment('a%zz')).toThrow(/malformed/);
  });
});

describe('LocalMessageStore', () => {
  let outDir: string;
  beforeEach(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'local-store-'));
  });
  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  function message(chunks: Buffer[] | Readable, uidl: string | undefined): MessageToStore {
    const body = Array.isArray(chunks) ? Readable.from(chunks) : chunks;
    return { mailboxId: 'support', uidl, listedSize: undefined, body, retrievedAt: new Date() };
  }

  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

  it('writes the exact bytes to <outDir>/<key>', async () => {
    const store = new LocalMessageStore({ outDir, keyPrefix: 'mail/' });
    const bytes = Buffer.concat([Buffer.from('Subject: x\r\n\r\n\0\r'), randomBytes(300_000)]);

    const stored = await store.put(message([bytes.subarray(0, 5), bytes.subarray(5)], 'UID/1'));

    expect(stored).toEqual({
      key: `mail/support/uidl/UID%2F1/${sha256(bytes)}.eml`,
      location: outDir,
      sha256: sha256(bytes),
      size: bytes.length,
      created: true,
    });
    expect((await readFile(path.join(outDir, ...stored.key.split('/')))).equals(bytes)).toBe(true);
  });

  it('stores an empty message as an empty file', async () => {
    const store = new LocalMessageStore({ outDir });
    const stored = await store.put(message([], undefined));
    expect(stored.key).toBe(`support/sha256/${sha256(Buffer.alloc(0))}.eml`);
    expect(await readFile(path.join(outDir, stored.key))).toEqual(Buffer.alloc(0));
  });

  it('reports the same message stored again as not created, leaving the file and no temporary behind', async () => {
    const store = new LocalMessageStore({ outDir });
    const bytes = Buffer.from('polled twice');
    const first = await store.put(message([bytes], 'u1'));
    const second = await store.put(message([bytes], 'u1'));

    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(await readdir(path.join(outDir, 'support', 'uidl', 'u1'))).toEqual([`${sha256(bytes)}.eml`]);
  });

  it('neither overwrites nor accepts an existing file of that name that is another message', async () => {
    const store = new LocalMessageStore({ outDir });
    const bytes = Buffer.from('original');
    const stored = await store.put(message([bytes], 'u1'));
    await writeFile(path.join(outDir, stored.key), 'already there');
    await expect(store.put(message([bytes], 'u1'))).rejects.toThrow(
      /already exists but is not this message .* stays on the server/,
    );
    expect(await readFile(path.join(outDir, stored.key), 'utf8')).toBe('already there');
    expect(await readdir(path.join(outDir, 'support', 'uidl', 'u1'))).toEqual([`${sha256(bytes)}.eml`]);
  });

  it('rethrows the error of a failing body unchanged and leaves no file', async () => {
    const store = new LocalMessageStore({ outDir });
    const dropped = new Error('connection reset');
    const body = Readable.from(
      (async function* () {
        yield Buffer.from('partial');
        throw dropped;
      })(),
    );
    await expect(store.put(message(body, 'u1'))).rejects.toBe(dropped);
    expect(await readdir(path.join(outDir, 'support', 'uidl', 'u1'))).toEqual([]);
  });
});
