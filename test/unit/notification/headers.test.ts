import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddressList } from '../../../lib/notification/addresses.ts';
import { parseHeaderFields } from '../../../lib/notification/header-fields.ts';
import { extractHeaderSection, HeaderCollector } from '../../../lib/notification/header-section.ts';

const bytes = (text: string) => Buffer.from(text, 'latin1');
const fieldsOf = (text: string) => parseHeaderFields(bytes(text));

describe('extractHeaderSection', () => {
  it.each([
    ['CRLF CRLF', 'A: 1\r\nB: 2\r\n\r\nbody\r\n', 'A: 1\r\nB: 2\r\n\r\n'],
    ['LF LF', 'A: 1\nB: 2\n\nbody\n', 'A: 1\nB: 2\n\n'],
    ['CRLF then LF', 'A: 1\r\n\nbody', 'A: 1\r\n\n'],
    ['LF then CRLF', 'A: 1\n\r\nbody', 'A: 1\n\r\n'],
    ['an empty first line (no header fields)', '\r\nbody\r\n\r\n', '\r\n'],
    ['no empty line at all', 'A: 1\r\nB: 2', 'A: 1\r\nB: 2'],
    ['a line holding only a CR and text (not empty)', 'A: 1\n\rX\n\nbody', 'A: 1\n\rX\n\n'],
  ])('stops after the first empty line: %s', (_case, message, expected) => {
    expect(extractHeaderSection(bytes(message)).toString('latin1')).toBe(expected);
  });
});

describe('HeaderCollector', () => {
  it('finds an empty line split across two chunks and keeps nothing of the body', () => {
    const collector = new HeaderCollector();
    for (const chunk of ['Subject: hi\r\n', '\r', '\nbody that must not be kept', 'more body']) {
      collector.write(bytes(chunk));
    }
    expect(collector.complete).toBe(true);
    expect(collector.truncated).toBe(false);
    expect(collector.headerBytes().toString('latin1')).toBe('Subject: hi\r\n\r\n');
  });

  it('stops keeping everything at maxBytes, says the section was cut, and keeps no cut field', () => {
    const collector = new HeaderCollector(16);
    collector.write(bytes('X-A: 1\r\nX-Long: 0123456789abcdef\r\n'));
    expect(collector.truncated).toBe(true);
    expect(collector.complete).toBe(false);
    expect(collector.done).toBe(false);
    collector.write(bytes('\r\nbody'));
    expect(collector.complete).toBe(true);
    expect(collector.done).toBe(true);
    expect(collector.headerBytes().toString('latin1')).toBe('X-A: 1\r\n');
  });

  it('agrees with extractHeaderSection however the message is cut into chunks', () => {
    const messageBytes = fc.uint8Array({ maxLength: 300 }).map((random) =>
      // Bias towards line structure: map some bytes to CR and LF.
      Buffer.from(random.map((byte) => (byte % 7 === 0 ? 0x0a : byte % 11 === 0 ? 0x0d : byte))),
    );
    fc.assert(
      fc.property(
        messageBytes,
        fc.array(fc.nat(300), { maxLength: 10 }),
        fc.integer({ min: 1, max: 400 }),
        (message, cuts, maxBytes) => {
          const collector = new HeaderCollector(maxBytes);
          const points = [
            ...new Set([0, ...cuts.filter((cut) => cut < message.length), message.length]),
          ].sort((a, b) => a - b);
          for (let i = 1; i < points.length; i++) collector.write(message.subarray(points[i - 1], points[i]));
          const expected = extractHeaderSection(message.subarray(0, maxBytes));
          if (!collector.truncated) expect(collector.headerBytes()).toEqual(expected);
          // Cut: whole lines of the kept part, then whole lines of wanted fields.
          else
            expect(collector.headerBytes().length === 0 || collector.headerBytes().at(-1) === 0x0a).toBe(
              true,
            );
        },
      ),
    );
  });
});

describe('parseHeaderFields', () => {
  it('unfolds as SES does: each line break and the whitespace after it become one space', () => {
    const fields = fieldsOf(
      'Received: from a.example (a.example [192.0.2.1])\r\n by b.example with SMTP id 1\r\n' +
        'DKIM-Signature: v=1; a=rsa-sha256;\r\n\ts=sel; d=example.com;\r\n\r\n',
    );
    expect(fields).toEqual([
      { name: 'Received', value: 'from a.example (a.example [192.0.2.1]) by b.example with SMTP id 1' },
      { name: 'DKIM-Signature', value: 'v=1; a=rsa-sha256; s=sel; d=example.com;' },
    ]);
  });

  it('keeps encoded words as written (SES does not decode raw headers)', () => {
    expect(fieldsOf('Subject: =?UTF-8?B?w6k=?=\n\n')).toEqual([
      { name: 'Subject', value: '=?UTF-8?B?w6k=?=' },
    ]);
  });

  it('reads 8-bit values as UTF-8 when they are, and byte for byte (Latin-1) otherwise', () => {
    const section = Buffer.concat([
      Buffer.from('Subject: caf\xc3\xa9\nX-Raw: caf', 'latin1'),
      Buffer.from([0xe9, 0x0a, 0x0a]),
    ]);
    expect(parseHeaderFields(section)).toEqual([
      { name: 'Subject', value: 'café' },
      { name: 'X-Raw', value: 'café' },
    ]);
  });

  it('skips what is not a field: an mbox From line, a line without colon, a name with spaces, and their continuations', () => {
    const fields = fieldsOf(
      'From sender@example.com Mon Jan  1 00:00:00 2024\n' +
        'no colon here\n' +
        '  orphan continuation\n' +
        'Bad Name: value\n' +
        '\tcontinues the bad one\n' +
        'Subject : obsolete space before the colon\n' +
        'X-Null: a\0b\n\n',
    );
    expect(fields).toEqual([
      { name: 'Subject', value: 'obsolete space before the colon' },
      { name: 'X-Null', value: 'a\0b' },
    ]);
  });

  it('drops the last field when the section was cut short (it may be cut too)', () => {
    expect(parseHeaderFields(bytes('A: 1\r\nB: partial val'), { incomplete: true })).toEqual([
      { name: 'A', value: '1' },
    ]);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), (random) => {
        const fields = parseHeaderFields(Buffer.from(random));
        for (const field of fields) expect(field.name).toMatch(/^[!-9;-~]+$/);
      }),
    );
  });
});

describe('parseAddressList', () => {
  it.each([
    ['a bare address', 'user@example.com', [{ name: '', address: 'user@example.com' }]],
    [
      'a name and an address',
      'Jane Doe <jane@example.com>',
      [{ name: 'Jane Doe', address: 'jane@example.com' }],
    ],
    [
      'a quoted name with a comma',
      '"Doe, Jane" <jane@example.com>, bob@example.com',
      [
        { name: 'Doe, Jane', address: 'jane@example.com' },
        { name: '', address: 'bob@example.com' },
      ],
    ],
    [
      'a comment as the name',
      'jane@example.com (Jane Doe)',
      [{ name: 'Jane Doe', address: 'jane@example.com' }],
    ],
    [
      'a name without angle brackets',
      'Stefanie Schwabe stefanie@example.com',
      [{ name: 'Stefanie Schwabe', address: 'stefanie@example.com' }],
    ],
    [
      'a group',
      'Team: a@example.com, B <b@example.com>;, c@example.com',
      [
        { name: '', address: 'a@example.com' },
        { name: 'B', address: 'b@example.com' },
        { name: '', address: 'c@example.com' },
      ],
    ],
    ['an empty group', 'undisclosed-recipients:;', []],
    ['a source route', '<@relay.example:user@example.com>', [{ name: '', address: 'user@example.com' }]],
    ['the null return path', '<>', [{ name: '', address: '' }]],
    [
      'an encoded name (decoded)',
      '=?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>',
      [{ name: 'André Pirard', address: 'pirard@example.be' }],
    ],
    ['an escaped quote', '"say \\"hi\\"" <a@example.com>', [{ name: 'say "hi"', address: 'a@example.com' }]],
    [
      'semicolons as separators',
      'a@example.com;b@example.com',
      [
        { name: '', address: 'a@example.com' },
        { name: '', address: 'b@example.com' },
      ],
    ],
    ['an unterminated angle bracket', 'X <x@example.com', [{ name: 'X', address: 'x@example.com' }]],
    ['nothing', '', []],
  ])('reads %s', (_case, value, expected) => {
    expect(parseAddressList(value)).toEqual(expected);
  });

  it('never throws, whatever the text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (value) => Array.isArray(parseAddressList(value))));
  });
});

describe('formatAddress (the SES commonHeaders form)', () => {
  it('writes Name <addr>, quoting a name only when it holds specials', () => {
    expect(formatAddress({ name: '', address: 'a@example.com' })).toBe('a@example.com');
    expect(formatAddress({ name: 'Sender Name', address: 's@example.com' })).toBe(
      'Sender Name <s@example.com>',
    );
    expect(formatAddress({ name: 'Doe, Jane', address: 'j@example.com' })).toBe(
      '"Doe, Jane" <j@example.com>',
    );
    expect(formatAddress({ name: 'say "hi"', address: 'a@example.com' })).toBe(
      '"say \\"hi\\"" <a@example.com>',
    );
  });
});
