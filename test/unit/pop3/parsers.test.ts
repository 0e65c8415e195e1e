import { describe, expect, it } from 'vitest';
import { Pop3ProtocolError } from '../../../lib/pop3/errors.ts';
import {
  NO_CAPABILITIES,
  parseCapabilities,
  parseGreeting,
  parseListing,
  parseListLine,
  parseStat,
  parseUidlLine,
  parseUidlListing,
} from '../../../lib/pop3/parsers.ts';
import type { StatusLine } from '../../../lib/pop3/reply-decoder.ts';
import {
  parseResponseCode,
  RESP_CODE_IN_USE,
  RESP_CODE_SYS_TEMP,
  responseCodeIs,
} from '../../../lib/pop3/response-codes.ts';

const greeting = (text: string): StatusLine => ({ kind: '+OK', text, raw: Buffer.from(`+OK ${text}`) });
const body = (text: string): Buffer => Buffer.from(text, 'utf8');

describe('parseGreeting: the APOP timestamp (RFC 1939 §7, CVE-2007-1558)', () => {
  it.each([
    ['POP3 server ready <1896.697170952@dbc.mtview.ca.us>', '<1896.697170952@dbc.mtview.ca.us>'],
    ['Dovecot ready. <1a2b.3c4d.5e6f@mail-1.example.org>', '<1a2b.3c4d.5e6f@mail-1.example.org>'],
    ['<4711.x@[192.0.2.1]> ready', '<4711.x@[192.0.2.1]>'],
  ])('takes the msg-id from %j', (text, timestamp) => {
    expect(parseGreeting(greeting(text))).toEqual({ text, apopTimestamp: timestamp });
  });

  it.each([
    ['no brackets', 'POP3 server ready'],
    ['no @', 'ready <1896.697170952>'],
    ['a space inside', 'ready <1896 697@host>'],
    ['a quote inside', 'ready <"a b"@host>'],
    ['an 8-bit character inside', 'ready <1896.é@host>'],
    ['a control character inside', 'ready <18\u000196@host>'],
    ['a ">" inside (nested)', 'ready <<1896@host>>'],
    ['a "<" without ">"', 'ready <1896@host'],
    ['brackets in the wrong order', 'ready >1896@host<'],
    ['two candidates', 'ready <1@a> <2@b>'],
    ['an empty left side', 'ready <@host>'],
    ['a dot at the start', 'ready <.1896@host>'],
    ['two @', 'ready <a@b@c>'],
  ])('takes no timestamp with %s', (_why, text) => {
    expect(parseGreeting(greeting(text))).toEqual({ text });
  });
});

describe('parseStat and parseListLine', () => {
  it('reads "nn mm" and ignores what may follow (RFC 1939 §5)', () => {
    expect(parseStat('2 320')).toEqual({ count: 2, octets: 320 });
    expect(parseStat('0 0 empty maildrop')).toEqual({ count: 0, octets: 0 });
    expect(parseListLine('1 120 extra info')).toEqual({ msg: 1, octets: 120 });
  });

  it.each([
    ['', 'nothing'],
    ['two', 'words'],
    ['-1 5', 'a sign'],
    ['1', 'one number'],
    ['12345678901234567890 1', 'a number beyond 2^53'],
  ])('refuses STAT %j (%s)', (text) => {
    expect(() => parseStat(text)).toThrow(Pop3ProtocolError);
  });

  it('refuses message number 0', () => {
    expect(() => parseListLine('0 120')).toThrow(/message number 0/);
  });
});

describe('parseListing and parseUidlListing', () => {
  it('reads every line, tolerating a bare LF line end', () => {
    expect(parseListing(body('1 120\r\n2 200\n3 5\r\n'))).toEqual([
      { msg: 1, octets: 120 },
      { msg: 2, octets: 200 },
      { msg: 3, octets: 5 },
    ]);
  });

  it('names the line that is malformed', () => {
    expect(() => parseListing(body('1 120\r\n2 200\r\nthree\r\n'))).toThrow(/line 3 of the LIST reply/);
    expect(() => parseUidlListing(body('1 abc\r\n\r\n'))).toThrow(/line 2 of the UIDL reply/);
  });

  it('refuses a message listed twice', () => {
    expect(() => parseUidlListing(body('1 abc\r\n2 def\r\n1 ghi\r\n'))).toThrow(
      /listed message 1 twice in the UIDL reply \(lines 1 and 3\)/,
    );
  });

  it('refuses a line longer than 1024 octets', () => {
    expect(() => parseListing(body(`1 ${'9'.repeat(1100)}\r\n`))).toThrow(/longer than 1024 octets/);
  });
});

describe('parseUidlLine: one unique-id token; RFC 1939 §7 ids and, leniently, longer or 8-bit ones', () => {
  it.each([
    ['1 whqtswO00WBw418f9t5JxYwZ', { msg: 1, uidl: 'whqtswO00WBw418f9t5JxYwZ' }],
    ['2   spaced-out  ', { msg: 2, uidl: 'spaced-out' }],
    ['3 !~', { msg: 3, uidl: '!~' }],
    [`4 ${'x'.repeat(70)}`, { msg: 4, uidl: 'x'.repeat(70) }],
    ['5 00000001:+/=<>', { msg: 5, uidl: '00000001:+/=<>' }],
    // Outside RFC 1939, but refusing them would fail the whole mailbox; the key hashes them instead.
    [`6 ${'x'.repeat(71)}`, { msg: 6, uidl: 'x'.repeat(71) }],
    ['7 caf\u00e9', { msg: 7, uidl: 'caf\u00e9' }],
    ['8 a\u0001b', { msg: 8, uidl: 'a\u0001b' }],
  ])('accepts %j', (line, entry) => {
    expect(parseUidlLine(line)).toEqual(entry);
  });

  it.each([
    ['an empty unique-id', '1 '],
    ['a missing unique-id', '1'],
    ['a space inside', '1 two words'],
    ['no message number', 'abc'],
  ])('refuses %s', (_what, line) => {
    expect(() => parseUidlLine(line)).toThrow(Pop3ProtocolError);
  });

  it('reads 8-bit octets in a UIDL body one character per octet', () => {
    expect(parseUidlListing(Buffer.from('1 caf\xe9\r\n', 'latin1'))).toEqual([{ msg: 1, uidl: 'caf\u00e9' }]);
  });
});

describe('parseCapabilities (RFC 2449 §5-6)', () => {
  const gmail = parseCapabilities(
    body(
      'USER\r\nRESP-CODES\r\nEXPIRE 0\r\nLOGIN-DELAY 300\r\nTOP\r\nUIDL\r\nX-GOOGLE-RICO\r\nSASL PLAIN XOAUTH2 OAUTHBEARER\r\n',
    ),
  );

  it('reads the capabilities a mail provider announces', () => {
    expect(gmail).toMatchObject({
      user: true,
      respCodes: true,
      top: true,
      uidl: true,
      pipelining: false,
      stls: false,
      utf8: false,
      authRespCode: false,
      expire: 0,
      loginDelay: 300,
      implementation: undefined,
      sasl: ['PLAIN', 'XOAUTH2', 'OAUTHBEARER'],
    });
    expect(gmail.has('x-google-rico')).toBe(true);
    expect(gmail.raw.get('SASL')).toEqual(['PLAIN', 'XOAUTH2', 'OAUTHBEARER']);
  });

  it('ignores the case of keywords and mechanisms', () => {
    const capabilities = parseCapabilities(
      body('pipelining\r\nStls\r\nsasl plain cram-md5\r\nutf8 USER\r\n'),
    );
    expect(capabilities.pipelining && capabilities.stls && capabilities.utf8).toBe(true);
    expect(capabilities.has('SASL') && capabilities.has('sasl')).toBe(true);
    expect(capabilities.sasl).toEqual(['PLAIN', 'CRAM-MD5']);
  });

  it.each([
    ['EXPIRE 0', 0],
    ['EXPIRE 30 USER', 30],
    ['EXPIRE NEVER', 'NEVER'],
    ['expire never', 'NEVER'],
    ['EXPIRE soon', undefined],
  ])('reads %j as %j', (line, expire) => {
    expect(parseCapabilities(body(`${line}\r\n`)).expire).toEqual(expire);
  });

  it('merges repeated lines, skips blank ones and keeps the implementation text', () => {
    const capabilities = parseCapabilities(
      body('SASL PLAIN\r\n\r\nSASL login plain\r\nIMPLEMENTATION Example POP3 Server 2.1\r\n'),
    );
    expect(capabilities.sasl).toEqual(['PLAIN', 'LOGIN']);
    expect(capabilities.implementation).toBe('Example POP3 Server 2.1');
  });

  it('knows nothing for a server without CAPA', () => {
    expect(NO_CAPABILITIES).toMatchObject({ user: false, uidl: false, sasl: [], expire: undefined });
    expect(NO_CAPABILITIES.has('USER')).toBe(false);
  });
});

describe('response codes (RFC 2449 §8, RFC 3206)', () => {
  it.each([
    ['[IN-USE] locked', 'IN-USE', ['IN-USE'], 'locked'],
    ['[sys/temp] try later', 'SYS/TEMP', ['SYS', 'TEMP'], 'try later'],
    ['[X-VENDOR/ODD/DEEP]', 'X-VENDOR/ODD/DEEP', ['X-VENDOR', 'ODD', 'DEEP'], ''],
  ])('splits %j into a code and text', (input, raw, parts, text) => {
    expect(parseResponseCode(input)).toEqual({ code: { raw, parts }, text });
  });

  it.each([
    ['no code', 'plain text'],
    ['a bracket later in the text', 'see [IN-USE]'],
    ['a "[" without "]"', '[IN-USE locked'],
    ['an empty code', '[] nothing'],
    ['a space in the code', '[IN USE] nope'],
    ['an empty level', '[SYS//TEMP] nope'],
  ])('finds no code with %s', (_what, input) => {
    expect(parseResponseCode(input)).toEqual({ text: input });
  });

  it('matches codes along the hierarchy', () => {
    const code = parseResponseCode('[SYS/TEMP] x').code;
    expect(responseCodeIs(code, 'SYS')).toBe(true);
    expect(responseCodeIs(code, RESP_CODE_SYS_TEMP)).toBe(true);
    expect(responseCodeIs(code, 'sys/temp')).toBe(true);
    expect(responseCodeIs(code, 'SYS/PERM')).toBe(false);
    expect(responseCodeIs(code, 'SYS/TEMP/MORE')).toBe(false);
    expect(responseCodeIs(code, RESP_CODE_IN_USE)).toBe(false);
    expect(responseCodeIs(undefined, 'SYS')).toBe(false);
  });
});
