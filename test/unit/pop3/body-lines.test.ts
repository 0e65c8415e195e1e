/**
 * LIST, UIDL and CAPA bodies are read line by line as they arrive (lib/pop3/body-lines.ts): each reply is
 * fed through the real reply decoder, split in two at every offset and also one octet at a time, and must
 * give the same result or the same error as when it arrives whole.
 */
import { describe, expect, it } from 'vitest';
import type { BodyReader, Listing } from '../../../lib/pop3/body-lines.ts';
import { Pop3ProtocolError } from '../../../lib/pop3/errors.ts';
import {
  MAX_LISTING_LINE_OCTETS,
  MIN_LISTING_ENTRIES,
  maxListingEntriesFor,
} from '../../../lib/pop3/limits.ts';
import {
  capabilitiesReader,
  type ListEntry,
  listingReader,
  type UidlEntry,
  uidlListingReader,
} from '../../../lib/pop3/parsers.ts';
import { ReplyDecoder } from '../../../lib/pop3/reply-decoder.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Decodes one multi-line +OK reply arriving as `chunks` and feeds its body to `reader`. */
function read<T>(reader: BodyReader<T>, chunks: readonly Buffer[]): T {
  const decoder = new ReplyDecoder();
  decoder.expect('multiline', { label: 'LIST' });
  let ended = false;
  for (const chunk of chunks) {
    for (const event of decoder.push(chunk)) {
      if (event.type === 'data') reader.push(event.chunk);
      if (event.type === 'end') ended = true;
    }
  }
  if (!ended) throw new Error('the reply did not end');
  return reader.end();
}

/** Every way of cutting `reply` in two, plus one octet at a time. */
function splits(reply: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let at = 0; at <= reply.length; at++) ways.push([reply.subarray(0, at), reply.subarray(at)]);
  ways.push(Array.from(reply, (octet) => Buffer.of(octet)));
  return ways;
}

type Outcome<T> = { value: T; omitted?: number } | { error: string };

function outcome<T>(run: () => T): Outcome<T> {
  try {
    const value = run();
    const omitted = (value as Partial<Listing<unknown>>).omitted;
    return omitted === undefined ? { value } : { value, omitted };
  } catch (error) {
    if (!(error instanceof Pop3ProtocolError)) throw error;
    return { error: error.message };
  }
}

/** The outcome of `reply` read whole, after checking every split gives the same. */
function atEverySplit<T>(newReader: () => BodyReader<T>, reply: string): Outcome<T> {
  const whole = outcome(() => read(newReader(), [bytes(reply)]));
  for (const chunks of splits(bytes(reply))) {
    const split = outcome(() => read(newReader(), chunks));
    if (JSON.stringify(split) !== JSON.stringify(whole)) {
      expect({ at: chunks.map((chunk) => chunk.length), ...split }).toEqual(whole);
    }
  }
  return whole;
}

describe('LIST and UIDL bodies, line by line at every split', () => {
  it('reads every entry, CRLF or bare LF', () => {
    const result = atEverySplit(() => listingReader(), '+OK 3 messages\r\n1 120\r\n2 200\n3 5\r\n.\r\n');
    expect(result).toEqual({
      value: [
        { msg: 1, octets: 120 },
        { msg: 2, octets: 200 },
        { msg: 3, octets: 5 },
      ],
      omitted: 0,
    });
  });

  it('an empty listing has no entries', () => {
    expect(atEverySplit(() => uidlListingReader(), '+OK\r\n.\r\n')).toEqual({ value: [], omitted: 0 });
  });

  it('a line of MAX_LISTING_LINE_OCTETS with its CRLF passes; one octet more fails', () => {
    // RFC 1939 §5 lets a scan listing carry more after the size: "1 10 " + padding + CRLF.
    const lineOf = (length: number) => `1 10 ${'x'.repeat(length - 7)}\r\n`;
    const atLimit = atEverySplit(() => listingReader(), `+OK\r\n${lineOf(MAX_LISTING_LINE_OCTETS)}.\r\n`);
    expect(atLimit).toHaveProperty('value');
    const over = atEverySplit(() => listingReader(), `+OK\r\n${lineOf(MAX_LISTING_LINE_OCTETS + 1)}.\r\n`);
    expect(over).toEqual({
      error: `line 1 of the LIST reply is longer than ${MAX_LISTING_LINE_OCTETS} octets`,
    });
  });

  it('a line that never ends fails as soon as it passes the limit, without waiting for its end', () => {
    const reader = listingReader();
    reader.push(bytes('1 '));
    const endless = bytes('9'.repeat(MAX_LISTING_LINE_OCTETS));
    expect(() => reader.push(endless)).toThrow(Pop3ProtocolError);
  });

  it('past maxEntries, lines are checked and counted, not kept', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `${i + 1} uid-${i + 1}\r\n`).join('');
    const result = atEverySplit(() => uidlListingReader(3), `+OK\r\n${lines}.\r\n`) as {
      value: UidlEntry[];
      omitted: number;
    };
    expect(result.value.map((entry) => entry.uidl)).toEqual(['uid-1', 'uid-2', 'uid-3']);
    expect(result.omitted).toBe(7);
  });

  it('a malformed line past maxEntries still fails the listing (the reply is broken)', () => {
    const result = atEverySplit(() => listingReader(1), '+OK\r\n1 10\r\n2 20\r\nthree\r\n.\r\n');
    expect(result).toEqual({
      error: 'server sent a malformed LIST reply: line 3 of the LIST reply "three" is not "msg octets"',
    });
  });

  it('a message listed twice is refused, naming both lines', () => {
    const result = atEverySplit(() => uidlListingReader(), '+OK\r\n1 abc\r\n2 def\r\n1 ghi\r\n.\r\n');
    expect(result).toEqual({
      error: 'server listed message 1 twice in the UIDL reply (lines 1 and 3)',
    });
  });

  it('a unique-id outside 0x21-0x7E is kept, not refused: the object key hashes it (object-key.ts)', () => {
    const result = atEverySplit(() => uidlListingReader(), '+OK\r\n1 caf\xe9\r\n2 ok\r\n.\r\n');
    expect(result).toEqual({
      value: [
        { msg: 1, uidl: 'caf\xe9' },
        { msg: 2, uidl: 'ok' },
      ],
      omitted: 0,
    });
  });
});

describe('CAPA body, line by line at every split', () => {
  it('gives the same capabilities however it arrives', () => {
    const reply = '+OK\r\nTOP\r\nUIDL\nPIPELINING\r\nSASL PLAIN XOAUTH2\r\nEXPIRE 0\r\n.\r\n';
    const whole = read(capabilitiesReader(), [bytes(reply)]);
    for (const chunks of splits(bytes(reply))) {
      const capabilities = read(capabilitiesReader(), chunks);
      expect([capabilities.pipelining, capabilities.sasl, capabilities.expire]).toEqual([
        whole.pipelining,
        whole.sasl,
        whole.expire,
      ]);
    }
    expect([whole.top, whole.uidl, whole.pipelining, whole.sasl, whole.expire]).toEqual([
      true,
      true,
      true,
      ['PLAIN', 'XOAUTH2'],
      0,
    ]);
  });
});

describe('the listing cap follows the per-run message limit', () => {
  it('keeps twice the per-run limit, at least MIN_LISTING_ENTRIES', () => {
    expect(maxListingEntriesFor(10_000)).toBe(20_000);
    expect(maxListingEntriesFor(6_000)).toBe(12_000);
    expect(maxListingEntriesFor(50)).toBe(MIN_LISTING_ENTRIES);
    expect(maxListingEntriesFor(0)).toBe(MIN_LISTING_ENTRIES);
  });

  it('a listing exactly at the cap omits nothing', () => {
    const reader = listingReader(2);
    reader.push(bytes('1 10\r\n2 20\r\n'));
    const listing: Listing<ListEntry> = reader.end();
    expect([listing.length, listing.omitted]).toEqual([2, 0]);
  });
});
