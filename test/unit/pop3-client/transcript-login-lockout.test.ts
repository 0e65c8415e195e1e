/**
 * Login attempts that cannot lock an account: every mechanism checks the same password, so `auto` lets a
 * server check it at most twice per run (a digest refused, then one mechanism that sends the password)
 * and stops at the first refusal of a mechanism that sent it, with or without [AUTH]. A refusal that
 * cannot be a check (the mechanism is not supported, USER refused before PASS) still falls back. The
 * mechanism that worked is tried first next time.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { apopDigest } from '../../../lib/pop3/apop.ts';
import type { Credentials } from '../../../lib/pop3/credentials.ts';
import { Pop3LoginRefusedError, Pop3ServerError } from '../../../lib/pop3/errors.ts';
import { refusedTheMechanism } from '../../../lib/pop3/login-plan.ts';
import { Pop3Client } from '../../../lib/pop3-client/client.ts';
import { MechanismMemory, rememberedMechanisms } from '../../../lib/pop3-client/mechanism-memory.ts';
import { type ScriptServer, startScriptServer } from '../../support/script-server.ts';
import { base64, connectTo, play, rejectionOf, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };
const TIMESTAMP = '<1896.697170952@dbc.mtview.ca.us>';
const PLAIN_IR = base64('\0alice\0secret');
const CAPA_USER_PLAIN = `
  C: CAPA
  S: +OK
  S: USER
  S: SASL PLAIN LOGIN
  S: .
`;
const AFTER_LOGIN = `
  C: CAPA
  S: +OK
  S: .
  C: QUIT
  S: +OK
`;

const multi: ScriptServer[] = [];
afterEach(async () => {
  await Promise.all(multi.splice(0).map((server) => server.close()));
});

/** Plays `script`, then checks the client sent exactly its C: lines and nothing more. */
async function refusal(script: ReturnType<typeof transcript>): Promise<Pop3LoginRefusedError> {
  const server = await startServer(script.steps);
  const client = await connectTo(server);
  const error = await rejectionOf(client.login(alice, 'auto'));
  await client.quit();
  await server.done;
  expect(server.received.toString('latin1')).toBe(script.clientBytes);
  expect(error).toBeInstanceOf(Pop3LoginRefusedError);
  return error as Pop3LoginRefusedError;
}

describe('a mechanism that sent the password, refused, ends the attempts', () => {
  it('with [AUTH]: SASL PLAIN refused → neither USER/PASS nor LOGIN is sent', async () => {
    const error = await refusal(
      transcript(`
        S: +OK POP3 ready
        ${CAPA_USER_PLAIN}
        C: AUTH PLAIN ${PLAIN_IR}
        S: -ERR [AUTH] Authentication failed.
        C: QUIT
        S: +OK
      `),
    );
    expect(error.attempts.map((attempt) => attempt.mechanism)).toEqual(['PLAIN']);
    expect(error.message).toContain('no other mechanism was tried');
    expect(error.message).toContain('not tried: USER, LOGIN');
    expect(classifyFailure(error).status).toBe('auth-failed');
  });

  it('without a code (most servers send none): USER/PASS refused → LOGIN is not sent', async () => {
    const error = await refusal(
      transcript(`
        S: +OK POP3 ready
        C: CAPA
        S: +OK
        S: USER
        S: SASL LOGIN
        S: .
        C: USER alice
        S: +OK
        C: PASS secret
        S: -ERR Authentication failed.
        C: QUIT
        S: +OK
      `),
    );
    expect(error.attempts.map((attempt) => attempt.mechanism)).toEqual(['USER']);
    expect(error.message).toContain('(the credentials were refused; check username and secret)');
    expect(classifyFailure(error).status).toBe('auth-failed');
  });

  it('the server closes after it: no second connection', async () => {
    const first = transcript(`
      S: +OK POP3 ready
      ${CAPA_USER_PLAIN}
      C: AUTH PLAIN ${PLAIN_IR}
      S: -ERR Authentication failed.
    `);
    const server = await startScriptServer(async (conn) => {
      await play(conn, first);
      await conn.end();
    });
    multi.push(server);
    const error = await rejectionOf(Pop3Client.connectAndLogin(options(server), alice, 'auto'));
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    expect(server.connections).toBe(1);
    expect(server.received.toString('latin1')).not.toContain('PASS');
  });
});

describe('a refusal that cannot have checked the password falls back', () => {
  it('SASL PLAIN advertised but "Unsupported authentication mechanism." → USER/PASS gets in', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      ${CAPA_USER_PLAIN}
      C: AUTH PLAIN ${PLAIN_IR}
      S: -ERR Unsupported authentication mechanism.
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
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

  it('USER refused before PASS (the password never left) → SASL LOGIN is tried', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      C: CAPA
      S: +OK
      S: USER
      S: SASL LOGIN
      S: .
      C: USER alice
      S: -ERR USER is switched off here
      C: AUTH LOGIN
      S: + ${base64('Username:')}
      C: ${base64('alice')}
      S: + ${base64('Password:')}
      C: ${base64('secret')}
      S: +OK
      ${AFTER_LOGIN}
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('LOGIN');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('reads the mechanism-refused wording, never a credentials refusal', () => {
    const says = (text: string) => refusedTheMechanism(new Pop3ServerError(text));
    expect(says('Unsupported authentication mechanism.')).toBe(true);
    expect(says('Unknown command: USER')).toBe(true);
    expect(says('mechanism not enabled')).toBe(true);
    expect(says('Unrecognized authentication type')).toBe(true);
    expect(says('Authentication failed.')).toBe(false);
    expect(says('[AUTH] invalid user name or password')).toBe(false);
    expect(says('Login failed: unknown user or wrong password')).toBe(false);
  });
});

describe('a digest refused → at most ONE mechanism that sends the password', () => {
  it('APOP refused without a code → USER/PASS gets in (GNU mailutils: timestamp, no APOP secret)', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopDigest(TIMESTAMP, 'secret')}
      S: -ERR authentication failed
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
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

  it('without TLS nor allowInsecureAuth: two digests refused are the two checks, nothing more', async () => {
    const script = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: SASL CRAM-MD5 PLAIN
      S: .
      C: AUTH CRAM-MD5
      S: + ${base64('<7@example.org>')}
      C: ${base64(`alice ${cram('<7@example.org>')}`)}
      S: -ERR [AUTH] no
      C: APOP alice ${apopDigest(TIMESTAMP, 'secret')}
      S: -ERR [AUTH] no
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { allowInsecureAuth: false });
    const error = await rejectionOf(client.login(alice, 'auto'));
    expect((error as Pop3LoginRefusedError).attempts.map((attempt) => attempt.mechanism)).toEqual([
      'CRAM-MD5',
      'APOP',
    ]);
    expect(error.message).toContain('stopped after 2 attempts so as not to lock the account');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('the mechanism that worked goes first', () => {
  it('preferredMechanism: USER before SASL PLAIN, which TLS order would rank first', async () => {
    const script = transcript(`
      S: +OK POP3 ready
      ${CAPA_USER_PLAIN}
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      ${AFTER_LOGIN}
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { preferredMechanism: 'user' });
    await client.login(alice, 'auto');
    expect(client.mechanismUsed).toBe('USER');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('remembered per host, port and user: the second run skips the refused APOP', async () => {
    const firstRun = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: APOP alice ${apopDigest(TIMESTAMP, 'secret')}
      S: -ERR [AUTH] no APOP secret
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      ${AFTER_LOGIN}
    `);
    const secondRun = transcript(`
      S: +OK POP3 ready ${TIMESTAMP}
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
        await play(conn, conn.index === 0 ? firstRun : secondRun);
        await conn.closed;
      },
      { connections: 2 },
    );
    multi.push(server);
    try {
      for (let run = 0; run < 2; run++) {
        const client = await Pop3Client.connectAndLogin(options(server), alice, 'auto');
        expect(client.mechanismUsed).toBe('USER');
        await client.quit();
      }
      await server.done;
      expect(server.received.toString('latin1')).toBe(firstRun.clientBytes + secondRun.clientBytes);
    } finally {
      rememberedMechanisms.forget(server.host, server.port, 'alice');
    }
  });

  it('the memory is bounded: the least recently used entry goes first', () => {
    const memory = new MechanismMemory(2);
    memory.remember('a.example', 995, 'u', 'PLAIN');
    memory.remember('b.example', 995, 'u', 'USER');
    memory.remember('A.EXAMPLE', 995, 'u', 'PLAIN'); // host names are case-insensitive: a is now the newest
    memory.remember('c.example', 995, 'u', 'APOP');
    expect(memory.size).toBe(2);
    expect(memory.recall('b.example', 995, 'u')).toBeUndefined();
    expect(memory.recall('a.example', 995, 'u')).toBe('PLAIN');
    expect(memory.recall('c.example', 995, 'u')).toBe('APOP');
    expect(memory.recall('c.example', 110, 'u')).toBeUndefined();
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

function cram(challenge: string): string {
  // CRAM-MD5 (RFC 2195): HMAC-MD5 of the challenge keyed with the password.
  return createHmac('md5', 'secret').update(challenge).digest('hex');
}
