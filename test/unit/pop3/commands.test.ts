import { describe, expect, it } from 'vitest';
import { authInitialResponseFits, type Pop3Command, Pop3Commands } from '../../../lib/pop3/commands.ts';
import { Pop3ProtocolError, Pop3UsageError } from '../../../lib/pop3/errors.ts';
import { DEFAULT_MAX_LISTING_OCTETS, MAX_COMMAND_OCTETS } from '../../../lib/pop3/limits.ts';
import type { StatusLine } from '../../../lib/pop3/reply-decoder.ts';

const wire = (command: Pop3Command): string => command.line.toString('latin1');
const okStatus = (text: string): StatusLine => ({
  kind: '+OK',
  text,
  raw: Buffer.from(`+OK ${text}`, 'utf8'),
});
const SAMPLE_DIGEST = 'c4c9334bac560ecc979e58001b3e22fb';

describe('Pop3Commands: the exact bytes of every command', () => {
  it.each([
    ['USER', Pop3Commands.user('mrose'), 'USER mrose\r\n'],
    ['PASS', Pop3Commands.pass('secret'), 'PASS secret\r\n'],
    ['APOP', Pop3Commands.apop('mrose', SAMPLE_DIGEST), `APOP mrose ${SAMPLE_DIGEST}\r\n`],
    ['AUTH', Pop3Commands.auth('plain'), 'AUTH PLAIN\r\n'],
    [
      'AUTH with initial response',
      Pop3Commands.auth('PLAIN', Buffer.from('\0u\0p')),
      'AUTH PLAIN AHUAcA==\r\n',
    ],
    ['AUTH with empty initial response', Pop3Commands.auth('EXTERNAL', 'empty'), 'AUTH EXTERNAL =\r\n'],
    ['AUTH with empty buffer', Pop3Commands.auth('EXTERNAL', Buffer.alloc(0)), 'AUTH EXTERNAL =\r\n'],
    ['SASL response', Pop3Commands.saslResponse(Buffer.from('user')), 'dXNlcg==\r\n'],
    ['empty SASL response', Pop3Commands.saslResponse(Buffer.alloc(0)), '\r\n'],
    ['SASL cancel', Pop3Commands.saslResponse('*'), '*\r\n'],
    ['STLS', Pop3Commands.stls(), 'STLS\r\n'],
    ['CAPA', Pop3Commands.capa(), 'CAPA\r\n'],
    ['STAT', Pop3Commands.stat(), 'STAT\r\n'],
    ['LIST', Pop3Commands.list(), 'LIST\r\n'],
    ['LIST n', Pop3Commands.list(2), 'LIST 2\r\n'],
    ['UIDL', Pop3Commands.uidl(), 'UIDL\r\n'],
    ['UIDL n', Pop3Commands.uidl(17), 'UIDL 17\r\n'],
    ['RETR', Pop3Commands.retr(1), 'RETR 1\r\n'],
    ['TOP', Pop3Commands.top(10, 0), 'TOP 10 0\r\n'],
    ['DELE', Pop3Commands.dele(3), 'DELE 3\r\n'],
    ['NOOP', Pop3Commands.noop(), 'NOOP\r\n'],
    ['RSET', Pop3Commands.rset(), 'RSET\r\n'],
    ['LAST', Pop3Commands.last(), 'LAST\r\n'],
    ['QUIT', Pop3Commands.quit(), 'QUIT\r\n'],
  ])('%s', (_name, command, expected) => {
    expect(wire(command)).toBe(expected);
    expect(wire(command)).not.toMatch(/ \r\n$/);
  });

  it('sends arguments as UTF-8', () => {
    expect(Pop3Commands.user('jörg').line).toEqual(Buffer.from('USER jörg\r\n', 'utf8'));
  });
});

describe('Pop3Commands: what each command expects back', () => {
  it.each([
    ['STAT', Pop3Commands.stat(), 'single', 'none'],
    ['LIST', Pop3Commands.list(), 'multiline', 'collect'],
    ['LIST n', Pop3Commands.list(1), 'single', 'none'],
    ['UIDL', Pop3Commands.uidl(), 'multiline', 'collect'],
    ['CAPA', Pop3Commands.capa(), 'multiline', 'collect'],
    ['RETR', Pop3Commands.retr(1), 'multiline', 'stream'],
    ['TOP', Pop3Commands.top(1, 5), 'multiline', 'stream'],
    ['AUTH', Pop3Commands.auth('LOGIN'), 'sasl', 'none'],
    ['SASL response', Pop3Commands.saslResponse(Buffer.from('x')), 'sasl', 'none'],
    ['STLS', Pop3Commands.stls(), 'stls', 'none'],
  ])('%s: a %s reply, body %s', (_name, command, shape, bodyMode) => {
    expect(command.shape).toBe(shape);
    expect(command.bodyMode).toBe(bodyMode);
  });

  it('caps collected bodies and labels every reply with its keyword', () => {
    expect(Pop3Commands.uidl().expectOptions).toEqual({
      label: 'UIDL',
      maxBodyOctets: DEFAULT_MAX_LISTING_OCTETS,
    });
    expect(Pop3Commands.retr(4).expectOptions).toEqual({ label: 'RETR' });
  });

  it('never pipelines authentication, STLS or QUIT', () => {
    const serial = [
      Pop3Commands.user('u'),
      Pop3Commands.pass('p'),
      Pop3Commands.apop('u', SAMPLE_DIGEST),
      Pop3Commands.auth('PLAIN'),
      Pop3Commands.saslResponse(Buffer.from('x')),
      Pop3Commands.stls(),
      Pop3Commands.quit(),
    ];
    expect(serial.filter((command) => command.pipelinable)).toEqual([]);
    expect(
      [Pop3Commands.retr(1), Pop3Commands.dele(1), Pop3Commands.uidl()].every((c) => c.pipelinable),
    ).toBe(true);
  });

  it('knows which state allows each command (RFC 1939 §4-6, RFC 2449 §5)', () => {
    expect(Pop3Commands.user('u').allowedIn).toEqual(['AUTHORIZATION']);
    expect(Pop3Commands.retr(1).allowedIn).toEqual(['TRANSACTION']);
    expect(Pop3Commands.capa().allowedIn).toEqual(['AUTHORIZATION', 'TRANSACTION']);
    expect(Pop3Commands.quit().allowedIn).toEqual(['AUTHORIZATION', 'TRANSACTION']);
  });
});

describe('Pop3Commands: secrets stay out of display text', () => {
  it.each([
    [Pop3Commands.pass('hunter2 with spaces'), 'PASS ***'],
    [Pop3Commands.apop('mrose', SAMPLE_DIGEST), 'APOP mrose ***'],
    [Pop3Commands.auth('PLAIN', Buffer.from('\0user\0hunter2')), 'AUTH PLAIN ***'],
    [Pop3Commands.auth('XOAUTH2'), 'AUTH XOAUTH2'],
    [Pop3Commands.saslResponse(Buffer.from('hunter2')), 'AUTH (response ***)'],
    [Pop3Commands.saslResponse('*'), 'AUTH (cancel: *)'],
  ])('%#: %s', (command, display) => {
    expect(command.display).toBe(display);
  });
});

describe('Pop3Commands: refused before anything is sent', () => {
  it.each([
    ['CR in USER', () => Pop3Commands.user('a\rb')],
    ['LF in USER', () => Pop3Commands.user('a\nRETR 1')],
    ['NUL in PASS', () => Pop3Commands.pass('a\0b')],
    ['CRLF in PASS', () => Pop3Commands.pass('x\r\nDELE 1')],
    ['an empty USER', () => Pop3Commands.user('')],
    ['an empty PASS', () => Pop3Commands.pass('')],
    ['a space in USER', () => Pop3Commands.user('two words')],
    ['a space in the APOP name', () => Pop3Commands.apop('two words', SAMPLE_DIGEST)],
    ['an upper-case APOP digest', () => Pop3Commands.apop('u', SAMPLE_DIGEST.toUpperCase())],
    ['a short APOP digest', () => Pop3Commands.apop('u', 'abc')],
    ['a mechanism with a space', () => Pop3Commands.auth('PLAIN X')],
    ['a mechanism of 21 characters', () => Pop3Commands.auth('A'.repeat(21))],
    ['message number 0', () => Pop3Commands.retr(0)],
    ['a negative message number', () => Pop3Commands.dele(-1)],
    ['a fractional message number', () => Pop3Commands.list(1.5)],
    ['NaN as message number', () => Pop3Commands.uidl(Number.NaN)],
    ['an unsafe integer', () => Pop3Commands.retr(2 ** 53)],
    ['a negative TOP line count', () => Pop3Commands.top(1, -1)],
  ])('%s', (_what, build) => {
    expect(build).toThrow(Pop3UsageError);
  });

  it('allows spaces in PASS: it has exactly one argument (RFC 1939 §7)', () => {
    expect(wire(Pop3Commands.pass('correct horse battery'))).toBe('PASS correct horse battery\r\n');
  });

  it('names the argument in the error, never its value', () => {
    expect(() => Pop3Commands.pass('s3cret\n')).toThrow('PASS password must not contain CR, LF or NUL');
    try {
      Pop3Commands.pass('s3cret\n');
    } catch (error) {
      expect(String(error)).not.toContain('s3cret');
    }
  });

  it(`accepts a command of exactly ${MAX_COMMAND_OCTETS} octets with its CRLF, not one more (RFC 2449 §4)`, () => {
    const longestName = 'u'.repeat(MAX_COMMAND_OCTETS - 'USER \r\n'.length);
    expect(Pop3Commands.user(longestName).line).toHaveLength(MAX_COMMAND_OCTETS);
    expect(() => Pop3Commands.user(`${longestName}u`)).toThrow(/at most 255 octets/);
  });

  it('counts octets, not characters', () => {
    const name = 'ü'.repeat(124); // 248 octets in UTF-8: 'USER ' + 248 + CRLF = 255
    expect(Pop3Commands.user(name).line).toHaveLength(255);
    expect(() => Pop3Commands.user(`${name}ü`)).toThrow(Pop3UsageError);
  });

  it('refuses an AUTH initial response that does not fit, and says what to do instead (RFC 5034 §4)', () => {
    const token = Buffer.alloc(300, 'a');
    expect(authInitialResponseFits('XOAUTH2', token)).toBe(false);
    expect(() => Pop3Commands.auth('XOAUTH2', token)).toThrow(/without it and answer the empty challenge/);
    expect(authInitialResponseFits('PLAIN', Buffer.from('\0u\0p'))).toBe(true);
  });

  it('sends long SASL responses: they are not commands (RFC 5034 §4)', () => {
    const token = Buffer.alloc(3000, 'a');
    const response = Pop3Commands.saslResponse(token);
    expect(response.line.length).toBeGreaterThan(4000);
    expect(response.line.subarray(-2).toString('latin1')).toBe('\r\n');
  });
});

describe('Pop3Commands: parsing each +OK reply', () => {
  it('STAT', () => {
    expect(Pop3Commands.stat().parse(okStatus('2 320'), undefined)).toEqual({ count: 2, octets: 320 });
  });

  it('LIST and LIST n', () => {
    const body = Buffer.from('1 120\r\n2 200\r\n');
    expect(Pop3Commands.list().parse(okStatus('2 messages'), body)).toEqual([
      { msg: 1, octets: 120 },
      { msg: 2, octets: 200 },
    ]);
    expect(Pop3Commands.list(2).parse(okStatus('2 200'), undefined)).toEqual({ msg: 2, octets: 200 });
  });

  it('UIDL and UIDL n', () => {
    const body = Buffer.from('1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n');
    expect(Pop3Commands.uidl().parse(okStatus(''), body)).toEqual([
      { msg: 1, uidl: 'whqtswO00WBw418f9t5JxYwZ' },
      { msg: 2, uidl: 'QhdPYR:00WBw1Ph7x7' },
    ]);
    expect(Pop3Commands.uidl(2).parse(okStatus('2 QhdPYR:00WBw1Ph7x7'), undefined)).toEqual({
      msg: 2,
      uidl: 'QhdPYR:00WBw1Ph7x7',
    });
  });

  it('CAPA', () => {
    const capabilities = Pop3Commands.capa().parse(okStatus(''), Buffer.from('UIDL\r\nSASL PLAIN\r\n'));
    expect(capabilities.uidl).toBe(true);
    expect(capabilities.sasl).toEqual(['PLAIN']);
  });

  it('LAST', () => {
    expect(Pop3Commands.last().parse(okStatus('3'), undefined)).toBe(3);
    expect(() => Pop3Commands.last().parse(okStatus('none'), undefined)).toThrow(Pop3ProtocolError);
  });

  it('an empty listing', () => {
    expect(Pop3Commands.list().parse(okStatus('0 messages'), Buffer.alloc(0))).toEqual([]);
  });
});
