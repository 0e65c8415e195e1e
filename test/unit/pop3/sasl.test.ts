import { describe, expect, it } from 'vitest';
import { Pop3ProtocolError, Pop3UsageError } from '../../../lib/pop3/errors.ts';
import {
  createSaslMechanism,
  decodeChallenge,
  encodeResponse,
  type SaslMechanism,
} from '../../../lib/pop3/sasl.ts';
import type { Credentials } from '../../../lib/ports.ts';

const password: Credentials = { kind: 'password', username: 'tim', password: 'tanstaaftanstaaf' };
const token: Credentials = {
  kind: 'oauth2',
  username: 'someuser@example.com',
  accessToken: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg',
};
const empty = Buffer.alloc(0);
const text = (buffer: Buffer | undefined) => buffer?.toString('utf8');

/** Drives a mechanism the way the client does: base64 challenges in, base64 responses out. */
function converse(mechanism: SaslMechanism, serverChallenges: string[]): string[] {
  return serverChallenges.map((challenge) => encodeResponse(mechanism.respond(decodeChallenge(challenge))));
}

function thrown(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the action to throw');
}

describe('PLAIN (RFC 4616)', () => {
  it('sends an empty authzid, the user and the password with AUTH', () => {
    const plain = createSaslMechanism('PLAIN', password);
    expect(text(plain.initialResponse())).toBe('\0tim\0tanstaaftanstaaf');
  });

  it('answers the empty challenge instead when the initial response is turned off', () => {
    const plain = createSaslMechanism('plain', password, { initialResponse: false });
    expect(plain.name).toBe('PLAIN');
    expect(plain.initialResponse()).toBeUndefined();
    expect(text(plain.respond(empty))).toBe('\0tim\0tanstaaftanstaaf');
  });

  it('refuses a second challenge: the exchange is over after one message', () => {
    const plain = createSaslMechanism('PLAIN', password);
    plain.initialResponse();
    expect(() => plain.respond(empty)).toThrow(Pop3ProtocolError);
  });

  it('refuses a NUL inside the password, which would shift the fields', () => {
    const error = thrown(() =>
      createSaslMechanism('PLAIN', { kind: 'password', username: 'tim', password: 'sec\0ret' }),
    );
    expect(error).toBeInstanceOf(Pop3UsageError);
    expect(error.message).not.toContain('sec');
  });
});

describe('LOGIN', () => {
  it('answers the first challenge with the user and the second with the password, whatever the prompts say', () => {
    const login = createSaslMechanism('LOGIN', password);
    expect(login.initialResponse()).toBeUndefined();
    // Servers word the prompts differently ("Username:", "User Name", nothing at all).
    expect(converse(login, ['VXNlciBOYW1lAA==', ''])).toEqual([
      Buffer.from('tim').toString('base64'),
      Buffer.from('tanstaaftanstaaf').toString('base64'),
    ]);
    expect(() => login.respond(Buffer.from('Password:'))).toThrow(Pop3ProtocolError);
  });
});

describe('CRAM-MD5 (RFC 2195)', () => {
  it('reproduces the RFC 2195 example exchange', () => {
    const cram = createSaslMechanism('CRAM-MD5', password);
    expect(cram.initialResponse()).toBeUndefined();
    // S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
    // C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
    expect(converse(cram, ['PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+'])).toEqual([
      'dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw',
    ]);
    expect(text(Buffer.from('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw', 'base64'))).toBe(
      'tim b913a602c7eda7a495b4e6e7334d3890',
    );
  });

  it('refuses an empty challenge and a second challenge', () => {
    expect(() => createSaslMechanism('CRAM-MD5', password).respond(empty)).toThrow(Pop3ProtocolError);
    const cram = createSaslMechanism('CRAM-MD5', password);
    cram.respond(Buffer.from('<1.2@example.com>'));
    expect(() => cram.respond(Buffer.from('<3.4@example.com>'))).toThrow(Pop3ProtocolError);
  });
});

describe('XOAUTH2', () => {
  // The example from Google's XOAUTH2 protocol documentation.
  const googleExample =
    'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==';
  const serverError = Buffer.from(
    '{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}',
  ).toString('base64');

  it('sends user=...^Aauth=Bearer ...^A^A with AUTH (Gmail)', () => {
    const xoauth2 = createSaslMechanism('XOAUTH2', token);
    expect(encodeResponse(xoauth2.initialResponse() ?? empty)).toBe(googleExample);
  });

  it('answers a rejected token (a JSON challenge) with an empty response, so the server can say -ERR', () => {
    const xoauth2 = createSaslMechanism('XOAUTH2', token);
    xoauth2.initialResponse();
    expect(converse(xoauth2, [serverError])).toEqual(['']);
    expect(() => xoauth2.respond(Buffer.from('again'))).toThrow(Pop3ProtocolError);
  });

  it('sends the token after the empty challenge in the two-step form (Microsoft 365)', () => {
    const longToken: Credentials = {
      kind: 'oauth2',
      username: 'someone@example.com',
      accessToken: 'x'.repeat(1200),
    };
    const xoauth2 = createSaslMechanism('XOAUTH2', longToken, { initialResponse: false });
    expect(xoauth2.initialResponse()).toBeUndefined();
    // C: AUTH XOAUTH2   S: +   C: <token line, far beyond 255 octets>   S: + <error>   C: (empty)
    const [tokenLine, afterError] = converse(xoauth2, ['', serverError]);
    expect(tokenLine?.length).toBeGreaterThan(255);
    expect(text(Buffer.from(tokenLine ?? '', 'base64'))).toBe(
      `user=someone@example.com\x01auth=Bearer ${'x'.repeat(1200)}\x01\x01`,
    );
    expect(afterError).toBe('');
  });
});

describe('credentials and mechanism names', () => {
  it('refuses a mechanism that cannot use the credentials, without echoing them', () => {
    for (const [name, credentials] of [
      ['PLAIN', token],
      ['LOGIN', token],
      ['CRAM-MD5', token],
      ['XOAUTH2', password],
    ] as const) {
      const error = thrown(() => createSaslMechanism(name, credentials));
      expect(error).toBeInstanceOf(Pop3UsageError);
      expect(error.message).not.toMatch(/tanstaaf|ya29|someuser|\btim\b/);
    }
  });

  it('refuses unknown mechanisms', () => {
    expect(() => createSaslMechanism('GSSAPI', password)).toThrow(/not supported/);
  });

  it('never puts a secret or a challenge into an error', () => {
    const cram = createSaslMechanism('CRAM-MD5', password);
    cram.respond(Buffer.from('<1.2@example.com>'));
    const errors = [
      thrown(() => cram.respond(Buffer.from('tanstaaftanstaaf'))),
      thrown(() => decodeChallenge('tanstaaftanstaaf!')),
      thrown(() => createSaslMechanism('XOAUTH2', { ...token, accessToken: 'ya29 with space' })),
    ];
    for (const error of errors) expect(error.message).not.toMatch(/tanstaaf|ya29|<1\.2/);
  });
});

describe('decodeChallenge / encodeResponse', () => {
  it('decodes strict base64, and both empty forms to an empty buffer', () => {
    expect(text(decodeChallenge('VXNlcm5hbWU6'))).toBe('Username:');
    expect(decodeChallenge('')).toEqual(empty);
    expect(decodeChallenge('=')).toEqual(empty);
    expect(encodeResponse(empty)).toBe('');
  });

  it.each([
    ['a character outside the alphabet', 'VXNl$m5hbWU6'],
    ['missing padding', 'VXNlcg'],
    ['whitespace inside', 'VXNl cm5h'],
    ['URL-safe alphabet', 'VXNl-m5h'],
    ['padding in the middle', 'VX==cm5h'],
  ])('rejects %s', (_what, challenge) => {
    expect(() => decodeChallenge(challenge)).toThrow(Pop3ProtocolError);
  });
});
