import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DotUnstuffer, type UnstufferState } from '../../../lib/pop3/dot-unstuffer.ts';
import { Pop3Error, Pop3ProtocolError } from '../../../lib/pop3/errors.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Reference stuffer (RFC 1939 §3): a "." at a line start (after CRLF, or first) gets another "." */
function stuff(message: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  message.forEach((octet, index) => {
    if (lineStart && octet === 0x2e) out.push(0x2e);
    out.push(octet);
    lineStart = octet === 0x0a && message[index - 1] === 0x0d;
  });
  return Buffer.from(out);
}

/** A body as the server sends it: the message (which ends with CRLF, or is empty), stuffed, then ".CRLF". */
function wireBody(message: Buffer): Buffer {
  return Buffer.concat([stuff(message), bytes('.\r\n')]);
}

/** A message as a POP3 body must carry it: empty, or ending with CRLF. */
function asMessage(raw: Uint8Array): Buffer {
  const message = Buffer.from(raw);
  const endsWithCrLf = message.length >= 2 && message[message.length - 2] === 0x0d && message.at(-1) === 0x0a;
  return message.length === 0 || endsWithCrLf ? message : Buffer.concat([message, bytes('\r\n')]);
}

function splitAt(data: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((offset) => offset % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, data.length]) {
    chunks.push(data.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

/** Feeds the chunks in order; returns the message, the octets consumed and whether the end was seen. */
function unstuff(chunks: readonly Buffer[]): { message: Buffer; consumed: number; done: boolean } {
  const unstuffer = new DotUnstuffer();
  const payload: Buffer[] = [];
  let consumed = 0;
  for (const chunk of chunks) {
    const result = unstuffer.push(chunk);
    payload.push(...result.payload);
    consumed += result.consumed;
    if (result.done) break;
  }
  return { message: Buffer.concat(payload), consumed, done: unstuffer.state === 'DONE' };
}

// Octets that matter to the state machine, mixed with arbitrary ones so every transition is exercised.
const interestingOctet = fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00), fc.integer({ min: 0, max: 255 }));
const messageBytes = fc
  .array(interestingOctet, { maxLength: 400 })
  .map((octets) => asMessage(Buffer.from(octets)));

describe('DotUnstuffer: reading a multi-line body (RFC 1939 §3)', () => {
  it.each([
    ['an empty body', '.\r\n', ''],
    ['a plain line', 'hello\r\n.\r\n', 'hello\r\n'],
    ['a stuffed dot ("..")', '..hidden\r\n.\r\n', '.hidden\r\n'],
    ['a line that is only a dot', '..\r\n.\r\n', '.\r\n'],
    ['a dot before another octet (".x" gives "x")', '.x\r\n.\r\n', 'x\r\n'],
    ['"." CR x: the dot is stripped and the CR kept', '.\rX\r\n.\r\n', '\rX\r\n'],
    ['"." CR CR LF: same rule, then a line end', '.\r\r\n.\r\n', '\r\r\n'],
    ['a bare CR before a dot (not a line start)', 'a\r.b\r\n.\r\n', 'a\r.b\r\n'],
    ['a bare LF before a dot (not a line start)', 'a\n.b\r\n.\r\n', 'a\n.b\r\n'],
    ['NUL and 8-bit octets', 'caf\xe9\x00\xff\r\n.\r\n', 'caf\xe9\x00\xff\r\n'],
  ])('%s', (_name, wire, message) => {
    const result = unstuff([bytes(wire)]);
    expect(result).toEqual({ message: bytes(message), consumed: wire.length, done: true });
  });

  it('stops right after the terminator and leaves the next reply alone', () => {
    const result = new DotUnstuffer().push(bytes('line\r\n.\r\n+OK next\r\n'));
    expect(Buffer.concat(result.payload)).toEqual(bytes('line\r\n'));
    expect(result.consumed).toBe('line\r\n.\r\n'.length);
    expect(result.done).toBe(true);
  });

  it('takes nothing more once done', () => {
    const unstuffer = new DotUnstuffer();
    unstuffer.push(bytes('.\r\n'));
    expect(unstuffer.push(bytes('+OK\r\n'))).toEqual({ payload: [], consumed: 0, done: true });
  });

  it('names its state after every step', () => {
    const unstuffer = new DotUnstuffer();
    const states: UnstufferState[] = [unstuffer.state];
    for (const step of ['ab', '\r', '\n', '.', '.', 'x\r\n', '.', '\r', '\n']) {
      unstuffer.push(bytes(step));
      states.push(unstuffer.state);
    }
    expect(states).toEqual([
      'LINE_START',
      'IN_LINE',
      'CR_SEEN',
      'LINE_START',
      'DOT_AT_LINE_START',
      'IN_LINE',
      'LINE_START',
      'DOT_AT_LINE_START',
      'DOT_CR',
      'DONE',
    ]);
  });

  it('hands out views of the input, not copies', () => {
    const chunk = bytes('a long line of message text\r\nand another\r\n');
    const { payload } = new DotUnstuffer().push(chunk);
    expect(payload).toHaveLength(1);
    expect(payload[0]!.buffer).toBe(chunk.buffer);
    expect(payload[0]!.byteOffset).toBe(chunk.byteOffset);
  });

  it('neither loses nor repeats a CR that ends a chunk', () => {
    expect(unstuff([bytes('a\r'), bytes('\n'), bytes('.'), bytes('\r'), bytes('\n')]).message).toEqual(
      bytes('a\r\n'),
    );
    expect(unstuff([bytes('.\r'), bytes('X\r\n.\r\n')]).message).toEqual(bytes('\rX\r\n'));
    expect(unstuff([bytes('a\r'), bytes('\r'), bytes('\n.\r\n')]).message).toEqual(bytes('a\r\r\n'));
  });

  describe('a server that ends the body with a bare LF', () => {
    it.each([
      ['at the start of the body', '.\n'],
      ['after a line', 'text\r\n.\n'],
    ])('is refused with Pop3ProtocolError %s (never guessed at)', (_where, wire) => {
      expect(() => unstuff([bytes(wire)])).toThrow(Pop3ProtocolError);
      expect(() => unstuff([bytes(wire)])).toThrow(/bare LF/);
    });

    it('is refused however the bytes are split', () => {
      expect(() => unstuff([bytes('text\r\n.'), bytes('\n')])).toThrow(Pop3ProtocolError);
    });
  });

  it('gives the same bytes for a body split at every offset, and one octet at a time', () => {
    const wire = wireBody(bytes('From: a\r\n\r\n.dot\r\n..two\r\nbare\rcr\nlf\r\n.\r\n\r\nend\r\n'));
    const expected = unstuff([wire]);
    for (let cut = 0; cut <= wire.length; cut += 1) {
      expect(unstuff([wire.subarray(0, cut), wire.subarray(cut)])).toEqual(expected);
    }
    expect(unstuff([...wire].map((octet) => Buffer.from([octet])))).toEqual(expected);
  });

  it('gives back exactly the message for any bytes, stuffed and chunked at random', () => {
    fc.assert(
      fc.property(messageBytes, fc.array(fc.nat(), { maxLength: 12 }), (message, cuts) => {
        const wire = Buffer.concat([wireBody(message), bytes('NEXT')]);
        const result = unstuff(splitAt(wire, cuts));
        expect(result.message).toEqual(message);
        expect(result.consumed).toBe(wire.length - 'NEXT'.length);
        expect(result.done).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('on any byte stream consumes every octet until done, or throws a Pop3Error', () => {
    fc.assert(
      fc.property(
        fc.array(interestingOctet, { maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (raw, cuts) => {
          const unstuffer = new DotUnstuffer();
          try {
            for (const chunk of splitAt(Buffer.from(raw), cuts)) {
              const result = unstuffer.push(chunk);
              const payloadOctets = result.payload.reduce((sum, piece) => sum + piece.length, 0);
              // A held CR may come out one chunk late, so output can exceed this chunk's input by one.
              expect(payloadOctets).toBeLessThanOrEqual(result.consumed + 1);
              if (!result.done) expect(result.consumed).toBe(chunk.length);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(Pop3Error);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
