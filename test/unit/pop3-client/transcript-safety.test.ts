/**
 * What the client refuses to send, and what it never says: wrong-state commands, line breaks smuggled
 * into arguments, secrets over plaintext, and secrets in error messages.
 */
import { describe, expect, it } from 'vitest';
import type { AuthMethod } from '../../../lib/config/types.ts';
import {
  Pop3AuthenticationError,
  Pop3Error,
  Pop3SecurityError,
  Pop3TimeoutError,
  Pop3UsageError,
} from '../../../lib/pop3/errors.ts';
import type { Credentials } from '../../../lib/ports.ts';
import {
  base64,
  connectTo,
  rejectionOf,
  scriptServers,
  thrownBy,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();

const GREETING_AND_CAPA = `
  S: +OK ready
  C: CAPA
  S: +OK
  S: USER
  S: SASL PLAIN
  S: .
`;

describe('commands the session state does not allow', () => {
  it('a TRANSACTION command before login throws Pop3UsageError and sends nothing', async () => {
    const script = transcript(`${GREETING_AND_CAPA}\n C: QUIT\n S: +OK`);
    const server = await startServer(script.steps);
    const client = await connectTo(server);

    for (const attempt of [client.stat(), client.list(), client.uidl(1), client.dele(1), client.noop()]) {
      const error = await rejectionOf(attempt);
      expect(error).toBeInstanceOf(Pop3UsageError);
      expect(error.message).toMatch(/not allowed in the AUTHORIZATION state/);
    }
    expect(thrownBy(() => client.retr(1))).toBeInstanceOf(Pop3UsageError);
    expect(thrownBy(() => client.top(1, 0))).toBeInstanceOf(Pop3UsageError);

    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe('CAPA\r\nQUIT\r\n');
  });

  it('a second login, or one after QUIT, throws Pop3UsageError and sends nothing', async () => {
    const script = transcript(`
      ${GREETING_AND_CAPA}
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      C: CAPA
      S: +OK
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const alice = { kind: 'password', username: 'alice', password: 'secret' } as const;
    await client.login(alice, 'user');
    expect(await rejectionOf(client.login(alice, 'user'))).toBeInstanceOf(Pop3UsageError);
    await client.quit();
    expect(await rejectionOf(client.login(alice, 'user'))).toBeInstanceOf(Pop3UsageError);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('line breaks in arguments are refused before anything is sent', () => {
  it.each([
    ['user', 'alice\r\nDELE 1'],
    ['user', 'alice\nDELE 1'],
    ['apop', 'alice\rDELE 1'],
    ['plain', 'alice\r\nDELE 1'],
  ] as const)('CR/LF in the user name (%s)', async (method, username) => {
    const script = transcript(`
      S: +OK ready <1896.697170952@dbc.mtview.ca.us>
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login({ kind: 'password', username, password: 'secret' }, method));
    expect(error).toBeInstanceOf(Pop3UsageError);
    expect(String(error)).not.toContain('DELE');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('CR/LF in the password: not even USER is sent', async () => {
    const script = transcript(`${GREETING_AND_CAPA}\n C: QUIT\n S: +OK`);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(
      client.login({ kind: 'password', username: 'alice', password: 'secret\r\nDELE 1' }, 'user'),
    );
    expect(error).toBeInstanceOf(Pop3UsageError);
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('a password or token over a connection without TLS', () => {
  it.each(['user', 'plain', 'auto'] as const)('is refused without allowInsecureAuth (%s)', async (method) => {
    const script = transcript(`${GREETING_AND_CAPA}\n C: QUIT\n S: +OK`);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { allowInsecureAuth: false });
    const error = await rejectionOf(
      client.login({ kind: 'password', username: 'alice', password: 'secret' }, method),
    );
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect(error.message).toMatch(/allowInsecureAuth/);
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe('CAPA\r\nQUIT\r\n');
  });

  it('is sent once allowInsecureAuth accepts the risk', async () => {
    const script = transcript(`
      ${GREETING_AND_CAPA}
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      C: CAPA
      S: +OK
      S: .
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { allowInsecureAuth: true });
    await client.login({ kind: 'password', username: 'alice', password: 'secret' }, 'user');
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
    client.abort();
  });

  it('CRAM-MD5 needs no exception: the password never leaves the client', async () => {
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL CRAM-MD5
      S: .
      C: AUTH CRAM-MD5
      S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
      C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
      S: +OK
      C: CAPA
      S: +OK
      S: .
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { allowInsecureAuth: false });
    await client.login({ kind: 'password', username: 'tim', password: 'tanstaaftanstaaf' });
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
    client.abort();
  });
});

describe('the secret never appears in an error', () => {
  const password = 'Tr0ub4dor&3-unique';
  const accessToken = 'ya29.unique-token-value';

  /** The secret in every form that went over the wire, looked for everywhere an error is printed. */
  function expectSecretAbsent(error: Error, secret: string, ...wireForms: string[]): void {
    expect(error).toBeInstanceOf(Pop3Error);
    for (let current: unknown = error; current instanceof Error; current = current.cause) {
      for (const text of [String(current), current.stack ?? '', JSON.stringify(current)]) {
        for (const form of [secret, ...wireForms]) expect(text).not.toContain(form);
      }
    }
  }

  async function failedLogin(
    conversation: string,
    credentials: Credentials,
    method: AuthMethod,
    options: { idleMs?: number } = {},
  ): Promise<Error> {
    const server = await startServer(transcript(conversation).steps);
    const client = await connectTo(server, { timeouts: { idleMs: options.idleMs ?? 5_000 } });
    const error = await rejectionOf(client.login(credentials, method));
    client.abort();
    return error;
  }

  const withPassword: Credentials = { kind: 'password', username: 'alice', password };
  const plainResponse = base64(`\0alice\0${password}`);

  it('-ERR to PASS', async () => {
    const error = await failedLogin(
      `${GREETING_AND_CAPA}\n C: USER alice\n S: +OK\n C: PASS ${password}\n S: -ERR [AUTH] invalid login`,
      withPassword,
      'user',
    );
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expectSecretAbsent(error, password);
  });

  it('no reply to PASS before the idle timeout', async () => {
    const error = await failedLogin(
      `${GREETING_AND_CAPA}\n C: USER alice\n S: +OK\n C: PASS ${password}\n S: <stall>`,
      withPassword,
      'user',
      { idleMs: 100 },
    );
    expect(error).toBeInstanceOf(Pop3TimeoutError);
    expect(error.message).toContain('PASS ***');
    expectSecretAbsent(error, password);
  });

  it('connection dropped after PASS', async () => {
    const error = await failedLogin(
      `${GREETING_AND_CAPA}\n C: USER alice\n S: +OK\n C: PASS ${password}\n S: <reset>`,
      withPassword,
      'user',
    );
    expectSecretAbsent(error, password);
  });

  it('-ERR to AUTH PLAIN', async () => {
    const error = await failedLogin(
      `${GREETING_AND_CAPA}\n C: AUTH PLAIN ${plainResponse}\n S: -ERR [AUTH] no`,
      withPassword,
      'plain',
    );
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expectSecretAbsent(error, password, plainResponse);
  });

  it('connection closed while waiting for the AUTH PLAIN reply', async () => {
    const error = await failedLogin(
      `${GREETING_AND_CAPA}\n C: AUTH PLAIN ${plainResponse}\n S: <close>`,
      withPassword,
      'plain',
    );
    expectSecretAbsent(error, password, plainResponse);
  });

  it('a password the protocol cannot carry', async () => {
    const error = await failedLogin(
      GREETING_AND_CAPA,
      { ...withPassword, password: `${password}\r\n` },
      'user',
    );
    expect(error).toBeInstanceOf(Pop3UsageError);
    expectSecretAbsent(error, password);
  });

  it('-ERR after an XOAUTH2 token', async () => {
    const wire = base64(`user=alice@example.com\x01auth=Bearer ${accessToken}\x01\x01`);
    const error = await failedLogin(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${wire}
      S: + ${base64('{"status":"401"}')}
      C:
      S: -ERR [AUTH] invalid token
      `,
      { kind: 'oauth2', username: 'alice@example.com', accessToken },
      'xoauth2',
    );
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expectSecretAbsent(error, accessToken, wire);
  });
});
