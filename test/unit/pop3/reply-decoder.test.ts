import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Pop3ConnectionError,
  Pop3Error,
  Pop3MessageTooLargeError,
  Pop3ProtocolError,
  Pop3ServerError,
  Pop3UsageError,
} from '../../../lib/pop3/errors.ts';
import { MAX_STATUS_LINE_OCTETS } from '../../../lib/pop3/limits.ts';
import { ReplyDecoder, type ReplyEvent, type ReplyShape } from '../../../lib/pop3/reply-decoder.ts';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/replies/${name}`, import.meta.url));

/** One reply as the client sees it: the status line and, for a multi-line +OK, the whole body. */
interface Reply {
  readonly kind: '+OK' | '-ERR' | '+';
  readonly text: string;
  readonly body?: Buffer;
}

const ok = (text: string, body?: string): Reply =>
  body === undefined ? { kind: '+OK', text } : { kind: '+OK', text, body: bytes(body) };
const err = (text: string): Reply => ({ kind: '-ERR', text });
const more = (text: string): Reply => ({ kind: '+', text });

/**
 * Feeds the chunks to a decoder expecting `shapes` and returns the replies. Checks the event grammar on
 * the way (status, data only after a multi-line +OK, end), with plain throws: it runs ~100,000 times.
 */
function decode(shapes: readonly ReplyShape[], chunks: readonly Buffer[]): Reply[] {
  const decoder = new ReplyDecoder();
  for (const shape of shapes) decoder.expect(shape);
  const replies: Reply[] = [];
  let current: { kind: Reply['kind']; text: string; body: Buffer[] | undefined } | undefined;
  const take = (event: ReplyEvent): void => {
    if (event.type === 'status') {
      if (current !== undefined) throw new Error('a status event inside a reply');
      const multiline = event.status.kind === '+OK' && shapes[replies.length] === 'multiline';
      current = { kind: event.status.kind, text: event.status.text, body: multiline ? [] : undefined };
    } else if (event.type === 'data') {
      if (current?.body === undefined) throw new Error('a data event outside a multi-line body');
      current.body.push(event.chunk);
    } else {
      if (current === undefined) throw new Error('an end event without a status');
      const { kind, text, body } = current;
      replies.push(body === undefined ? { kind, text } : { kind, text, body: Buffer.concat(body) });
      current = undefined;
    }
  };
  for (const chunk of chunks) decoder.push(chunk).forEach(take);
  if (current !== undefined) throw new Error('the last reply did not end');
  if (decoder.pending !== 0) throw new Error(`${decoder.pending} replies still pending`);
  return replies;
}

/** Cheap comparison for the exhaustive loops; a mismatch is then reported with a full diff. */
function expectReplies(actual: readonly Reply[], expected: readonly Reply[]): void {
  const key = (replies: readonly Reply[]): string =>
    JSON.stringify(replies.map(({ kind, text, body }) => [kind, text, body?.toString('hex')]));
  if (key(actual) !== key(expected)) expect(actual).toEqual(expected);
}

function splitAt(data: Buffer, offsets: readonly number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((offset) => offset % (data.length + 1)))].sort((a, b) => a - b);
  return [...cuts, data.length].map((cut, index, all) =>
    data.subarray(index === 0 ? 0 : all[index - 1], cut),
  );
}

/** The retr-binary.bin message before stuffing: 8-bit, NUL, bare CR, bare LF and dot lines. */
const BINARY_MESSAGE =
  'From: a@example.com\r\n' +
  'Subject: caf\xe9 \xff\x00nul\r\n' +
  '\r\n' +
  '.leading dot\r\n' +
  '..two dots\r\n' +
  'bare\rCR and bare\nLF\r\n' +
  '\n.after a bare LF is not a line start\r\n' +
  '.\r\n' +
  'last line\r\n';

const FIXTURES: ReadonlyArray<{ file: string; shapes: ReplyShape[]; replies: Reply[] }> = [
  {
    file: 'greeting-apop.txt',
    shapes: ['single'],
    replies: [ok('Dovecot ready. <1896.697170952@dbc.mtview.ca.us>')],
  },
  {
    file: 'capa-dovecot.txt',
    shapes: ['multiline'],
    replies: [
      ok(
        '',
        'CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\n' +
          'SASL PLAIN LOGIN CRAM-MD5\r\n',
      ),
    ],
  },
  { file: 'retr-binary.bin', shapes: ['multiline'], replies: [ok('144 octets', BINARY_MESSAGE)] },
  { file: 'empty-body.txt', shapes: ['multiline'], replies: [ok('0 messages (0 octets)', '')] },
  {
    file: 'pipelined.txt',
    shapes: ['multiline', 'multiline', 'multiline', 'single', 'multiline', 'single'],
    replies: [
      ok('', '1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n'),
      ok('2 messages (320 octets)', '1 120\r\n2 200\r\n'),
      ok('120 octets', 'Subject: hi\r\n\r\n.dot\r\n'),
      ok('message 1 deleted'),
      err('[SYS/PERM] no such message'),
      ok('Logging out.'),
    ],
  },
  {
    file: 'sasl-cram-md5.txt',
    shapes: ['sasl', 'sasl'],
    replies: [more('PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'), ok('Logged in.')],
  },
  {
    file: 'err-in-use.txt',
    shapes: ['single'],
    replies: [err('[IN-USE] Mailbox is locked by another POP3 session')],
  },
  { file: 'bare-lf-status.txt', shapes: ['single', 'single'], replies: [ok('ready'), ok('2 320')] },
  { file: 'dot-cr-not-terminator.bin', shapes: ['multiline'], replies: [ok('', '\rX\r\n\r\r\n')] },
];

describe('ReplyDecoder: recorded server replies', () => {
  describe.each(FIXTURES)('$file', ({ file, shapes, replies }) => {
    const wire = fixture(file);

    it('decodes to the expected replies in one chunk', () => {
      expect(decode(shapes, [wire])).toEqual(replies);
    });

    it('decodes the same when split at every offset', () => {
      for (let cut = 0; cut <= wire.length; cut += 1) {
        expectReplies(decode(shapes, [wire.subarray(0, cut), wire.subarray(cut)]), replies);
      }
    });

    it('decodes the same when split at every pair of offsets', () => {
      for (let first = 1; first < wire.length; first += 1) {
        for (let second = first; second < wire.length; second += 1) {
          const chunks = [wire.subarray(0, first), wire.subarray(first, second), wire.subarray(second)];
          expectReplies(decode(shapes, chunks), replies);
        }
      }
    });

    it('decodes the same one octet at a time', () => {
      expect(
        decode(
          shapes,
          [...wire].map((octet) => Buffer.from([octet])),
        ),
      ).toEqual(replies);
    });
  });
});

describe('ReplyDecoder: status lines', () => {
  it('gives the raw line without its line end, and the text after one space', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('single');
    const [status] = decoder.push(bytes('+OK  two spaces\r\n'));
    expect(status).toEqual({
      type: 'status',
      status: { kind: '+OK', text: ' two spaces', raw: bytes('+OK  two spaces') },
    });
  });

  it('decodes the text as UTF-8, replacing what is not', () => {
    const invalid = Buffer.concat([Buffer.from('+OK Grüße ', 'utf8'), Buffer.from([0xff]), bytes('\r\n')]);
    expect(decode(['single'], [invalid])).toEqual([ok('Grüße \ufffd')]);
    expect(decode(['single'], [Buffer.from('+OK Grüße\r\n', 'utf8')])).toEqual([ok('Grüße')]);
  });

  it('accepts status indicators in any case', () => {
    expect(decode(['single', 'single'], [bytes('+ok fine\r\n-err no\r\n')])).toEqual([ok('fine'), err('no')]);
  });

  it.each([
    ['no indicator', 'hello\r\n'],
    ['an empty line', '\r\n'],
    ['an indicator glued to text', '+OKAY\r\n'],
    ['a continuation outside AUTH', '+ abc\r\n'],
  ])('refuses %s', (_what, line) => {
    expect(() => decode(['single'], [bytes(line)])).toThrow(Pop3ProtocolError);
  });

  it(`accepts a line of exactly ${MAX_STATUS_LINE_OCTETS} octets with its CRLF, not one more`, () => {
    const longest = `+OK ${'x'.repeat(MAX_STATUS_LINE_OCTETS - 6)}\r\n`;
    expect(longest).toHaveLength(MAX_STATUS_LINE_OCTETS);
    expect(decode(['single'], [bytes(longest)])).toHaveLength(1);
    const tooLong = `+OK ${'x'.repeat(MAX_STATUS_LINE_OCTETS - 5)}\r\n`;
    expect(() => decode(['single'], [bytes(tooLong)])).toThrow(Pop3ProtocolError);
  });

  it('refuses an endless status line as soon as 512 octets arrived without a line end', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('single');
    decoder.push(bytes('+OK '));
    for (let received = 4; received < MAX_STATUS_LINE_OCTETS - 1; received += 1) decoder.push(bytes('x'));
    // 511 octets so far: a LF could still end a legal line.
    expect(() => decoder.push(bytes('x'))).toThrow(/longer than 512 octets/);
  });

  it('lets a SASL challenge grow past 512 octets, but not a +OK line in the same exchange', () => {
    const challenge = `+ ${'A'.repeat(4000)}\r\n`;
    expect(decode(['sasl'], [bytes(challenge)])).toEqual([more('A'.repeat(4000))]);
    expect(() => decode(['sasl'], [bytes(`+OK ${'x'.repeat(600)}\r\n`)])).toThrow(Pop3ProtocolError);
  });

  it('reads "+" alone and "+ " as an empty challenge', () => {
    expect(decode(['sasl', 'sasl'], [bytes('+\r\n+ \r\n')])).toEqual([more(''), more('')]);
  });
});

describe('ReplyDecoder: multi-line replies', () => {
  it('reads no body after -ERR', () => {
    expect(decode(['multiline', 'single'], [bytes('-ERR no such message\r\n+OK\r\n')])).toEqual([
      err('no such message'),
      ok(''),
    ]);
  });

  it('refuses a +OK line ended by a bare LF before a body, instead of guessing where it ends', () => {
    expect(() => decode(['multiline'], [bytes('+OK\n1 2\n.\n')])).toThrow(/bare LF/);
  });

  it('refuses a body that ends with "." and a bare LF', () => {
    expect(() => decode(['multiline'], [bytes('+OK\r\nline\r\n.\n')])).toThrow(Pop3ProtocolError);
  });

  it('fails with Pop3MessageTooLargeError once a capped body grows past its cap', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('multiline', { label: 'UIDL', maxBodyOctets: 10 });
    decoder.push(bytes('+OK\r\n1 abc\r\n'));
    const error = catchError(() => decoder.push(bytes('2 def\r\n')));
    expect(error).toBeInstanceOf(Pop3MessageTooLargeError);
    expect(error).toMatchObject({ limit: 10, seen: 14, message: expect.stringContaining('UIDL') });
  });

  it('decodes a large body at a useful speed', () => {
    const line = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijk\r\n';
    const body = bytes(`+OK\r\n${`${line}..dot\r\n${line.repeat(48)}`.repeat(8000)}.\r\n`);
    const decoder = new ReplyDecoder();
    decoder.expect('multiline');
    const started = performance.now();
    let octets = 0;
    for (let offset = 0; offset < body.length; offset += 65536) {
      for (const event of decoder.push(body.subarray(offset, offset + 65536))) {
        if (event.type === 'data') octets += event.chunk.length;
      }
    }
    const megabytesPerSecond = body.length / 1e6 / ((performance.now() - started) / 1000);
    expect(octets).toBe(body.length - '+OK\r\n.\r\n'.length - 8000);
    // Measured ~700 MB/s; the bound only catches an accidental per-octet loop or string conversion.
    expect(megabytesPerSecond).toBeGreaterThan(50);
  });
});

describe('ReplyDecoder: STLS', () => {
  it('discards and counts bytes that arrived with the +OK, before the handshake', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('stls');
    const events = decoder.push(bytes('+OK Begin TLS negotiation now\r\n+OK injected\r\n'));
    expect(events.map((event) => event.type)).toEqual(['status', 'end']);
    expect(decoder.push(bytes('more plaintext'))).toEqual([]);
    expect(decoder.discardedAfterTls).toBe('+OK injected\r\n'.length + 'more plaintext'.length);

    decoder.resumeAfterTls();
    decoder.expect('single');
    expect(decoder.push(bytes('+OK over TLS\r\n')).map((event) => event.type)).toEqual(['status', 'end']);
  });

  it('keeps reading normally after STLS -ERR', () => {
    expect(decode(['stls', 'single'], [bytes('-ERR not now\r\n+OK\r\n')])).toEqual([err('not now'), ok('')]);
  });

  it('refuses resumeAfterTls() without a successful STLS', () => {
    expect(() => new ReplyDecoder().resumeAfterTls()).toThrow(Pop3UsageError);
  });
});

describe('ReplyDecoder: out-of-step servers and closed connections', () => {
  it('refuses bytes when no reply is expected', () => {
    const decoder = new ReplyDecoder();
    expect(() => decoder.push(bytes('+OK surprise\r\n'))).toThrow(/nobody asked for/);
  });

  it('reports an unsolicited -ERR line as the server refusing, with its response code', () => {
    // Dovecot, after "+OK Logged in." when it cannot open the mailbox.
    const decoder = new ReplyDecoder();
    let thrown: unknown;
    try {
      decoder.push(bytes('-ERR [SYS/TEMP] Internal error occurred\r\n'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Pop3ServerError);
    expect((thrown as Pop3ServerError).hasCode('SYS/TEMP')).toBe(true);
    expect((thrown as Pop3ServerError).serverText).toBe('Internal error occurred');
  });

  it('refuses a second reply to a single command', () => {
    expect(() => decode(['single'], [bytes('+OK\r\n+OK again\r\n')])).toThrow(Pop3ProtocolError);
  });

  it('stays broken after an error: the stream is out of step', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('single');
    const first = catchError(() => decoder.push(bytes('garbage\r\n')));
    expect(catchError(() => decoder.push(bytes('+OK\r\n')))).toBe(first);
    expect(catchError(() => decoder.expect('single'))).toBe(first);
  });

  it('accepts a close between replies', () => {
    const decoder = new ReplyDecoder();
    decoder.expect('single');
    decoder.push(bytes('+OK bye\r\n'));
    expect(() => decoder.end()).not.toThrow();
  });

  it.each([
    ['in a status line', '+OK 2 mess'],
    ['in a body', '+OK\r\nSubject: cut\r\n'],
  ])('reports a close %s as a Pop3ConnectionError', (_where, received) => {
    const decoder = new ReplyDecoder();
    decoder.expect('multiline', { label: 'RETR' });
    decoder.push(bytes(received));
    const error = catchError(() => decoder.end());
    expect(error).toBeInstanceOf(Pop3ConnectionError);
    expect((error as Error).message).toContain('RETR');
  });
});

describe('ReplyDecoder: properties', () => {
  const interestingOctet = fc.oneof(
    fc.constantFrom(0x0d, 0x0a, 0x2e, 0x00),
    fc.integer({ min: 0, max: 255 }),
  );

  it('gives back exactly the message bytes for any message and any chunking', () => {
    const message = fc.array(interestingOctet, { maxLength: 400 }).map((octets) => {
      const raw = Buffer.from(octets);
      const endsWithCrLf = raw.length >= 2 && raw[raw.length - 2] === 0x0d && raw.at(-1) === 0x0a;
      return raw.length === 0 || endsWithCrLf ? raw : Buffer.concat([raw, bytes('\r\n')]);
    });
    fc.assert(
      fc.property(message, fc.array(fc.nat(), { maxLength: 12 }), (body, cuts) => {
        const wire = Buffer.concat([bytes('+OK\r\n'), stuff(body), bytes('.\r\n+OK next\r\n')]);
        expect(decode(['multiline', 'single'], splitAt(wire, cuts))).toEqual([
          { kind: '+OK', text: '', body },
          ok('next'),
        ]);
      }),
      { numRuns: 2000 },
    );
  });

  it('on any byte stream returns events or throws a Pop3Error, and never invents data', () => {
    const token = fc.oneof(
      fc.constantFrom('+OK ', '-ERR ', '+ ', '+', '\r\n', '\n', '\r', '.', '..', '.\r\n', 'x').map(bytes),
      fc.uint8Array({ maxLength: 20 }).map((array) => Buffer.from(array)),
    );
    const shapes = fc.array(fc.constantFrom<ReplyShape>('single', 'multiline', 'sasl', 'stls'), {
      minLength: 1,
      maxLength: 6,
    });
    fc.assert(
      fc.property(
        shapes,
        fc.array(token, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (expected, tokens, cuts) => {
          const decoder = new ReplyDecoder();
          for (const shape of expected) decoder.expect(shape);
          const wire = Buffer.concat(tokens);
          let dataOctets = 0;
          try {
            for (const chunk of splitAt(wire, cuts)) {
              for (const event of decoder.push(chunk))
                if (event.type === 'data') dataOctets += event.chunk.length;
            }
            decoder.end();
          } catch (error) {
            expect(error).toBeInstanceOf(Pop3Error);
          }
          expect(dataOctets).toBeLessThanOrEqual(wire.length);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

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

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}
