/**
 * `auth: "auto"` finds what works, byte for byte: a refused mechanism is followed by the next one the
 * server offers (same session, or a new connection when the server closed), every attempt is listed
 * when all fail, TLS decides the order, and an explicit `auth` still means exactly one mechanism.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { apopDigest } from '../../../lib/pop3/apop.ts';
import type { Credentials } from '../../../lib/pop3/credentials.ts';
import { Pop3AuthenticationError, Pop3LoginRefusedError, Pop3ServerError } from '../../../lib/pop3/errors.ts';
import { Pop3Client } from '../../../lib/pop3-client/client.ts';
import { testCertificates } from '../../support/certs.ts';
import { type ScriptServer, startScriptServer } from '../../support/script-server.ts';
import { base64, connectTo, play, rejectionOf, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };
const TIMESTAMP = '<1896.697170952@dbc.mtview.ca.us>';
const PLAIN_IR = base64('\0alice\0secret');

const multi: ScriptServer[] = [];
afterEach(async () => {
  await Promise.all(multi.splice(0).map((server) => server.close()));
});

const AFTER_LOGIN = `
  C: CAPA
  S: +OK
  S: .
  C: QUIT
  S: +OK
`;

describe('auto falls back in the same session', () => {
  it('APOP refused with [AUTH] → USER/PASS succeeds on the same connection', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopOf('secret')}
      S: -ERR [AUTH] no APOP secret for this user
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK logged in
      ${AFTER_LOGIN}
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('USER');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('a digest refused → ONE mechanism that sends the password; its refusal ends it, auth-failed', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: SASL CRAM-MD5
      S: .
      C: AUTH CRAM-MD5
      S: + ${base64('<12345@example.org>')}
      C: ${base64(`alice ${cramOf('secret', '<12345@example.org>')}`)}
      S: -ERR [AUTH] CRAM-MD5 not configured
      C: USER alice
      S: +OK
      C: PASS secret
      S: -ERR [AUTH] wrong password
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    const refused = error as Pop3LoginRefusedError;
    // APOP is offered (timestamp) but would be a third check of the same password.
    expect(refused.attempts.map((attempt) => attempt.mechanism)).toEqual(['CRAM-MD5', 'USER']);
    expect(refused.message).toContain('CRAM-MD5: -ERR [AUTH] "CRAM-MD5 not configured"');
    expect(refused.message).toContain('USER: -ERR [AUTH] "wrong password"');
    expect(refused.message).toContain('not tried: APOP');
    expect(refused.message).toContain('(the credentials were refused; check username and secret)');
    // The password ("secret") appears nowhere but in that hint's wording.
    expect(refused.message.replace('check username and secret', '')).not.toContain('secret');
    expect(classifyFailure(error).status).toBe('auth-failed');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('[IN-USE] on login ends the attempts at once: the mailbox, not the mechanism, is the problem', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopOf('secret')}
      S: -ERR [IN-USE] mailbox locked by another session
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expect(error).not.toBeInstanceOf(Pop3LoginRefusedError);
    expect(classifyFailure(error)).toMatchObject({ status: 'retry-later', reason: 'IN-USE' });
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('auto when the server closes after a refusal', () => {
  it('closes after a refused mechanism (no [AUTH]) → reconnects and tries the next one', async () => {
    const first = transcript(`
      S: +OK POP3 ready <1.1@example.org>
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopOf('secret', '<1.1@example.org>')}
      S: -ERR APOP is not available here
    `);
    const second = transcript(`
      S: +OK POP3 ready <2.2@example.org>
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      ${AFTER_LOGIN}
    `);
    const server = await startScriptServer(
      async (conn) => {
        await play(conn, conn.index === 0 ? first : second);
        if (conn.index === 0) await conn.end();
        await conn.closed;
      },
      { connections: 2 },
    );
    multi.push(server);
    const client = await Pop3Client.connectAndLogin(options(server), alice, 'auto');
    expect(client.mechanism).toBe('USER');
    expect(server.connections).toBe(2);
    await client.quit();
    await server.done;
    // The next command may leave before the close is seen; it is not answered, and is sent again.
    const received = server.received.toString('latin1');
    expect(received.startsWith(first.clientBytes)).toBe(true);
    expect(received.endsWith(second.clientBytes)).toBe(true);
  });

  it('closes after refusing the credentials ([AUTH]) → no other attempt, auth-failed', async () => {
    const first = transcript(`
      S: +OK POP3 ready <1.1@example.org>
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopOf('secret', '<1.1@example.org>')}
      S: -ERR [AUTH] authentication failed
    `);
    const server = await startScriptServer(async (conn) => {
      await play(conn, first);
      await conn.end();
    });
    multi.push(server);
    const error = await rejectionOf(Pop3Client.connectAndLogin(options(server), alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    expect((error as Error).message).toContain('closed the connection after refusing the credentials');
    expect(classifyFailure(error).status).toBe('auth-failed');
    expect(server.connections).toBe(1);
    expect(server.received.toString('latin1').startsWith(first.clientBytes)).toBe(true);
    expect(server.received.toString('latin1')).not.toContain('PASS');
  });
});

describe('[LOGIN-DELAY] on login', () => {
  it('without a number in the code, the wait is the LOGIN-DELAY of CAPA (RFC 2449 §6.5)', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      C: CAPA
      S: +OK
      S: USER
      S: LOGIN-DELAY 900
      S: .
      C: USER alice
      S: +OK
      C: PASS secret
      S: -ERR [LOGIN-DELAY] too soon
    `);
    const server = await startScriptServer(script.steps);
    multi.push(server);
    const error = await rejectionOf(Pop3Client.connectAndLogin(options(server), alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expect(classifyFailure(error)).toMatchObject({
      status: 'retry-later',
      reason: 'LOGIN-DELAY',
      retryAfterSeconds: 900,
    });
    expect(server.connections).toBe(1);
  });
});

describe('order by what protects the password on this connection', () => {
  const offers = `
    S: +OK
    S: USER
    S: SASL CRAM-MD5 PLAIN
    S: .
  `;

  it('without TLS: CRAM-MD5 first (the password stays off the wire)', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      C: CAPA
      ${offers}
      C: AUTH CRAM-MD5
      S: + ${base64('<7@example.org>')}
      C: ${base64(`alice ${cramOf('secret', '<7@example.org>')}`)}
      S: +OK
      ${AFTER_LOGIN}
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('CRAM-MD5');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('over TLS: SASL PLAIN first (TLS protects it; CRAM-MD5 and APOP are often not configured)', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      ${offers}
      C: AUTH PLAIN ${PLAIN_IR}
      S: +OK
      ${AFTER_LOGIN}
    `);
    const server = await startScriptServer(async (conn) => {
      await conn.startTls();
      await play(conn, script);
    });
    multi.push(server);
    const client = await connectTo(server, {
      tls: 'implicit',
      ca: testCertificates().caPem,
      allowInsecureAuth: false,
    });
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('PLAIN');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('without TLS nor allowInsecureAuth: after CRAM-MD5 is refused, PLAIN and USER are not tried', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      C: CAPA
      ${offers}
      C: AUTH CRAM-MD5
      S: + ${base64('<7@example.org>')}
      C: ${base64(`alice ${cramOf('secret', '<7@example.org>')}`)}
      S: -ERR [AUTH] no
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { allowInsecureAuth: false });
    const error = await rejectionOf(client.login(alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    expect((error as Error).message).toContain('not tried: PLAIN (needs TLS or allowInsecureAuth)');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('an explicit auth means exactly that mechanism', () => {
  it('apop refused → the refusal, nothing else sent', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopOf('secret')}
      S: -ERR [AUTH] no APOP secret
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(alice, 'apop'));
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect(error).not.toBeInstanceOf(Pop3LoginRefusedError);
    expect((error as Pop3ServerError).serverText).toBe('no APOP secret');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

function options(server: ScriptServer) {
  return {
    host: server.host,
    port: server.port,
    tls: 'none' as const,
    allowInsecureAuth: true,
    timeouts: { greetingMs: 5_000, idleMs: 5_000 },
  };
}

function apopOf(password: string, timestamp = TIMESTAMP): string {
  return apopDigest(timestamp, password);
}

function cramOf(password: string, challenge: string): string {
  return createHmac('md5', password).update(challenge).digest('hex');
}
