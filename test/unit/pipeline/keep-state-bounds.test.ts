/**
 * The keep-mode state is bounded by bytes: ids outside RFC 1939 are hashed (lib/pipeline/keep-state-id.ts),
 * each line carries the stored digest, and decoding refuses a state larger than keep mode ever writes
 * (MAX_STATE_TEXT_OCTETS) before it is expanded. A state of the longest lines at the entry cap fits.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeState,
  encodeState,
  MAX_STATE_TEXT_OCTETS,
  MailboxStateFormatError,
} from '../../../lib/adapters/mailbox-state-codec.ts';
import { loadedStateId, stateIdOf } from '../../../lib/pipeline/keep-state-id.ts';
import { KEEP_MODE_MAX_LISTING_ENTRIES } from '../../../lib/pop3/limits.ts';
import { type KeptMessage, StateTooLargeError } from '../../../lib/ports.ts';

const sha256 = (octets: Buffer) => createHash('sha256').update(octets).digest('hex');
const header = (id: string) =>
  JSON.stringify({ format: 'mailbox-poller.mailbox-state', version: 1, mailboxId: id, counter: 1 });

describe('state ids', () => {
  it('keep an RFC 1939 unique-id as it is and hash any other over its octets', () => {
    const rfcLongest = '!'.repeat(35) + '~'.repeat(35);
    expect(stateIdOf(rfcLongest)).toBe(rfcLongest);
    const long = 'u'.repeat(71);
    expect(stateIdOf(long)).toBe(`sha256:${sha256(Buffer.from(long, 'latin1'))}`);
    const eightBit = 'caf\u00e9'; // latin1 as the client reads listings: one octet 0xE9
    expect(stateIdOf(eightBit)).toBe(`sha256:${sha256(Buffer.from([0x63, 0x61, 0x66, 0xe9]))}`);
    expect(stateIdOf('a'.repeat(1000))).toHaveLength(71);
  });

  it('match a long unique-id a state from before hashing holds as it is, and leave a hashed id alone', () => {
    const long = 'x'.repeat(500);
    expect(loadedStateId(long)).toBe(stateIdOf(long));
    expect(loadedStateId(stateIdOf(long))).toBe(stateIdOf(long));
    expect(loadedStateId('00000001abcdef')).toBe('00000001abcdef');
  });
});

describe('state lines with the stored digest', () => {
  it('round-trip the digest; a line of three elements (before digests) loads without one', () => {
    const digest = sha256(Buffer.from('message'));
    const messages: KeptMessage[] = [
      { uidl: 'with', size: 10, ingestedAt: 5, sha256: digest },
      { uidl: 'initial', size: 11, ingestedAt: undefined },
    ];
    expect(decodeState('m', encodeState('m', { messages }, 1)).state.messages).toEqual(messages);
    const legacy = gzipSync(`${header('m')}\n["old",12,7]\n`);
    const [old] = decodeState('m', legacy).state.messages;
    expect(old).toEqual({ uidl: 'old', size: 12, ingestedAt: 7 });
    expect(old).not.toHaveProperty('sha256');
  });

  it('refuse a fourth element that is not a SHA-256 in hex', () => {
    for (const bad of ['"abc"', '5', `"${'A'.repeat(64)}"`, `"${'a'.repeat(64)}",1`]) {
      const bytes = gzipSync(`${header('m')}\n["id",1,2,${bad}]\n`);
      expect(() => decodeState('m', bytes)).toThrow(MailboxStateFormatError);
    }
  });
});

describe('state size', () => {
  it('a state of the longest lines at the entry cap encodes within the bound and loads', () => {
    const digest = 'f'.repeat(64);
    const messages: KeptMessage[] = Array.from({ length: KEEP_MODE_MAX_LISTING_ENTRIES }, (_, i) => ({
      uidl: `"\\${'"'.repeat(66)}${String(i).padStart(6, '0')}`.slice(0, 71), // JSON doubles each one
      size: Number.MAX_SAFE_INTEGER,
      ingestedAt: Number.MAX_SAFE_INTEGER,
      sha256: digest,
    }));
    const bytes = encodeState('m', { messages }, Number.MAX_SAFE_INTEGER);
    const { state } = decodeState('m', bytes);
    expect(state.messages).toHaveLength(KEEP_MODE_MAX_LISTING_ENTRIES);
    expect(state.messages.at(-1)).toEqual(messages.at(-1));
  });

  it('a state that expands past the bound is refused before it is expanded', () => {
    const line = `["${'a'.repeat(70)}",1,1,"${'0'.repeat(64)}"]\n`;
    const text = line.repeat(Math.ceil(MAX_STATE_TEXT_OCTETS / line.length) + 1);
    const bytes = gzipSync(`${header('m')}\n${text}`, { level: 1 });
    expect(() => decodeState('m', bytes)).toThrow(StateTooLargeError);
    expect(() => decodeState('m', bytes)).toThrow(/expands to more than \d+ octets/);
  });
});
