/**
 * Logging in to a real Dovecot with every mechanism, over implicit TLS (POP3S) and over STLS, and the
 * certificate checks that guard both. Dovecot's own log is the independent witness of which mechanism
 * was used and that the session was encrypted.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuthMethod, TlsMode } from '../../lib/config/types.ts';
import { Pop3AuthenticationError, Pop3LoginRefusedError, Pop3SecurityError } from '../../lib/pop3/errors.ts';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import { rememberedMechanisms } from '../../lib/pop3-client/mechanism-memory.ts';
import type { Pop3ClientOptions } from '../../lib/pop3-client/options.ts';
import type { Credentials } from '../../lib/ports.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const ALICE = { name: 'alice', password: 'alice correct horse 7' };
const alice: Credentials = { kind: 'password', username: ALICE.name, password: ALICE.password };
const WRONG_PASSWORD = 'Wrong-Battery-Staple-42';
const GREETING_MESSAGE = Buffer.from('Subject: login check\r\n\r\nhello\r\n');

let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: [ALICE] });
  await server.seed(ALICE.name, [GREETING_MESSAGE]);
});

afterAll(async () => {
  await server?.stop();
});

type SecureMode = Exclude<TlsMode, 'none'>;

function connect(mode: TlsMode, overrides: Partial<Pop3ClientOptions> = {}): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: server.host,
    port: mode === 'implicit' ? server.pop3sPort : server.pop3Port,
    tls: mode,
    ca: server.caPem,
    servername: 'localhost',
    ...overrides,
  });
}

/** Dovecot's log lines written since `offset`, waited for until one matches (its log writer is asynchronous). */
async function logLineSince(offset: number, pattern: RegExp): Promise<string> {
  return vi.waitFor(
    () => {
      const line = server
        .readLog()
        .slice(offset)
        .split('\n')
        .find((candidate) => pattern.test(candidate));
      if (line === undefined) throw new Error(`no Dovecot log line matches ${pattern}`);
      return line;
    },
    { timeout: 5_000, interval: 50 },
  );
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

// The method asked for, what the client reports, and what Dovecot logs as `method=` (USER/PASS is PLAIN there).
const METHODS: ReadonlyArray<{ method: AuthMethod; mechanism: string; dovecotMethod: string }> = [
  { method: 'user', mechanism: 'USER', dovecotMethod: 'PLAIN' },
  { method: 'apop', mechanism: 'APOP', dovecotMethod: 'APOP' },
  { method: 'plain', mechanism: 'PLAIN', dovecotMethod: 'PLAIN' },
  { method: 'login', mechanism: 'LOGIN', dovecotMethod: 'LOGIN' },
  { method: 'cram-md5', mechanism: 'CRAM-MD5', dovecotMethod: 'CRAM-MD5' },
];
const MODES: readonly SecureMode[] = ['implicit', 'starttls'];
const COMBINATIONS = MODES.flatMap((mode) => METHODS.map((entry) => ({ mode, ...entry })));

describe('login with each mechanism', () => {
  it.each(COMBINATIONS)(
    '$method over $mode TLS opens the maildrop',
    async ({ mode, method, mechanism, dovecotMethod }) => {
      const logOffset = server.readLog().length;
      const client = await connect(mode);
      expect(client.encrypted).toBe(true);
      expect(client.discardedBeforeTls).toBe(0);

      await client.login(alice, method);

      expect(client.mechanism).toBe(mechanism);
      expect(client.state).toBe('TRANSACTION');
      expect(await client.stat()).toEqual({ count: 1, octets: GREETING_MESSAGE.length });
      expect(await client.quit()).toEqual({ confirmed: true, text: 'Logging out.' });
      const login = await logLineSince(logOffset, /pop3-login: Info: Login: user=<alice>/);
      expect(login).toContain(`method=${dovecotMethod},`);
      expect(login).toMatch(/, TLS,/);
    },
  );

  it('over TLS, auto picks SASL PLAIN: TLS protects it, and it is what servers configure most', async () => {
    const logOffset = server.readLog().length;
    const client = await connect('implicit');
    // Dovecot offers all three SASL mechanisms and an APOP timestamp; over TLS PLAIN ranks first.
    expect(client.capabilities.sasl).toEqual(expect.arrayContaining(['PLAIN', 'LOGIN', 'CRAM-MD5']));
    expect(client.greeting.apopTimestamp).toMatch(/^<.+@.+>$/);

    await client.login(alice);

    expect(client.mechanism).toBe('PLAIN');
    expect(await client.quit()).toMatchObject({ confirmed: true });
    expect(await logLineSince(logOffset, /Login: user=<alice>/)).toContain('method=PLAIN,');
  });

  it('without TLS, auto picks CRAM-MD5 (the password never crosses the wire)', async () => {
    const logOffset = server.readLog().length;
    const client = await connect('none', { allowInsecureAuth: true });
    await client.login(alice);
    expect(client.mechanism).toBe('CRAM-MD5');
    expect(await client.quit()).toMatchObject({ confirmed: true });
    expect(await logLineSince(logOffset, /Login: user=<alice>/)).toContain('method=CRAM-MD5,');
  });

  it('after STLS the capabilities are asked again, and Dovecot no longer offers STLS', async () => {
    const client = await connect('starttls');
    expect(client.encrypted).toBe(true);
    expect(client.capabilities.stls).toBe(false);
    expect(client.capabilities.sasl).toContain('PLAIN');
    client.abort();
  });
});

describe('a wrong password', () => {
  // Every form in which the password leaves the client: as typed, and inside base64 (PLAIN, LOGIN).
  const secretForms = [
    WRONG_PASSWORD,
    Buffer.from(WRONG_PASSWORD).toString('base64'),
    Buffer.from(`\0${ALICE.name}\0${WRONG_PASSWORD}`).toString('base64'),
  ];

  it.each(METHODS)(
    '$method: Pop3AuthenticationError [AUTH] that never shows the password',
    async ({ method }) => {
      const client = await connect('implicit');
      const error = await rejectionOf(client.login({ ...alice, password: WRONG_PASSWORD }, method));
      client.abort();

      expect(error).toBeInstanceOf(Pop3AuthenticationError);
      const authError = error as Pop3AuthenticationError;
      expect(authError.hasCode('AUTH')).toBe(true);
      expect(authError.server).toBe(`${server.host}:${server.pop3sPort}`);
      // What a logger would print: message, stack, and every property including the cause chain.
      const printed = [
        authError.message,
        authError.stack,
        inspect(authError, { depth: null }),
        JSON.stringify(authError),
      ];
      for (const text of printed) {
        for (const secret of secretForms) expect(text).not.toContain(secret);
      }
    },
  );
});

describe('a wrong password with auth "auto": one refused check per run, not three', () => {
  /** Logs in as a run does (connectAndLogin), recording every line that carried the password or a digest of it. */
  async function runWithWrongPassword(mode: TlsMode): Promise<{ error: unknown; sent: string[] }> {
    const sent: string[] = [];
    const error = await rejectionOf(
      Pop3Client.connectAndLogin(
        {
          host: server.host,
          port: mode === 'implicit' ? server.pop3sPort : server.pop3Port,
          tls: mode,
          ca: server.caPem,
          servername: 'localhost',
          allowInsecureAuth: true,
          onTrace: (direction, line) => {
            if (direction === 'C' && /^(AUTH|PASS|APOP) /.test(line)) sent.push(line);
          },
        },
        { kind: 'password', username: ALICE.name, password: WRONG_PASSWORD },
        'auto',
      ),
    );
    return { error, sent };
  }

  it('over TLS: SASL PLAIN refused ends it; Dovecot counts 1 failed attempt', async () => {
    const logOffset = server.readLog().length;
    const { error, sent } = await runWithWrongPassword('implicit');
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    expect((error as Pop3LoginRefusedError).attempts.map((attempt) => attempt.mechanism)).toEqual(['PLAIN']);
    expect(sent).toEqual(['AUTH PLAIN ***']);
    // Dovecot's own count of the session's failed authentications.
    const aborted = await logLineSince(
      logOffset,
      /pop3-login: Info: (Aborted login|Disconnected).*auth failed/,
    );
    expect(aborted).toMatch(/auth failed, 1 attempts/);
    expect(
      server
        .readLog()
        .slice(logOffset)
        .match(/Password mismatch/g),
    ).toHaveLength(1);
  });

  it('without TLS: CRAM-MD5 refused, then one mechanism that sends the password; 2 checks', async () => {
    const logOffset = server.readLog().length;
    const { error, sent } = await runWithWrongPassword('none');
    expect((error as Pop3LoginRefusedError).attempts.map((attempt) => attempt.mechanism)).toEqual([
      'CRAM-MD5',
      'PLAIN',
    ]);
    expect(sent).toEqual(['AUTH CRAM-MD5', 'AUTH (response ***)', 'AUTH PLAIN ***']);
    const aborted = await logLineSince(
      logOffset,
      /pop3-login: Info: (Aborted login|Disconnected).*auth failed/,
    );
    expect(aborted).toMatch(/auth failed, 2 attempts/);
  });
});

describe('a server with no secret for APOP (hashed passwords): APOP refused → the password gets in', () => {
  const BOB = { name: 'bob', password: 'bob battery staple 9' };
  let hashed: DovecotServer;

  beforeAll(async () => {
    // The greeting carries an APOP timestamp, as GNU mailutils' does. (Without `plain` Dovecot lists USER
    // in CAPA but answers PASS with "-ERR [AUTH] Unsupported authentication mechanism.".)
    hashed = await startDovecot({ users: [BOB], extraConfig: 'auth_mechanisms = plain apop' });
    await hashed.seed(BOB.name, [GREETING_MESSAGE]);
    // A salted SHA-256 instead of the plain password: Dovecot cannot compute an APOP digest from it.
    const salt = randomBytes(8);
    const digest = createHash('sha256').update(BOB.password).update(salt).digest();
    const ssha256 = Buffer.concat([digest, salt]).toString('base64');
    fs.writeFileSync(path.join(hashed.directory, 'passwd'), `${BOB.name}:{SSHA256}${ssha256}\n`);
  });

  afterAll(async () => {
    await hashed?.stop();
  });

  it('auto: APOP is refused once, SASL PLAIN logs in; the next run goes straight to PLAIN', async () => {
    const options = {
      host: hashed.host,
      port: hashed.pop3Port,
      tls: 'none' as const,
      allowInsecureAuth: true,
    };
    const bob: Credentials = { kind: 'password', username: BOB.name, password: BOB.password };
    try {
      const sent: string[] = [];
      const first = await Pop3Client.connectAndLogin(
        { ...options, onTrace: (direction, line) => direction === 'C' && sent.push(line.split(' ')[0]!) },
        bob,
        'auto',
      );
      expect(first.greeting.apopTimestamp).toBeDefined();
      expect(first.mechanismUsed).toBe('PLAIN');
      expect(await first.stat()).toEqual({ count: 1, octets: GREETING_MESSAGE.length });
      await first.quit();
      expect(sent.slice(0, 3)).toEqual(['CAPA', 'APOP', 'AUTH']);

      sent.length = 0;
      const second = await Pop3Client.connectAndLogin(
        { ...options, onTrace: (direction, line) => direction === 'C' && sent.push(line.split(' ')[0]!) },
        bob,
        'auto',
      );
      expect(second.mechanismUsed).toBe('PLAIN');
      await second.quit();
      expect(sent.slice(0, 2)).toEqual(['CAPA', 'AUTH']);
    } finally {
      rememberedMechanisms.forget(hashed.host, hashed.pop3Port, BOB.name);
    }
  });
});

describe('certificate verification', () => {
  it.each(MODES)('%s: the self-signed chain is rejected without the test CA', async (mode) => {
    const error = await rejectionOf(connect(mode, { ca: undefined }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect((error as Pop3SecurityError).message).toMatch(/certificate/);
  });

  it.each(MODES)('%s: a certificate for another name is rejected, even from a trusted CA', async (mode) => {
    const error = await rejectionOf(connect(mode, { servername: 'mail.example.org' }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect((error as Pop3SecurityError).message).toContain('mail.example.org');
  });

  it('without a servername the certificate is checked against the IP address connected to', async () => {
    // The test certificate lists IP:127.0.0.1 among its names, so this must succeed.
    const client = await connect('implicit', { servername: undefined });
    expect(client.encrypted).toBe(true);
    client.abort();
  });

  it('no login is attempted on a connection whose certificate was rejected', async () => {
    const logOffset = server.readLog().length;
    await rejectionOf(connect('starttls', { ca: undefined }));
    await rejectionOf(connect('implicit', { servername: 'mail.example.org' }));
    // Both connections end in Dovecot's log as closed without any authentication attempt.
    await vi.waitFor(
      () =>
        expect(
          server
            .readLog()
            .slice(logOffset)
            .match(/no auth attempts/g)?.length ?? 0,
        ).toBeGreaterThanOrEqual(2),
      { timeout: 5_000, interval: 50 },
    );
    expect(server.readLog().slice(logOffset)).not.toContain('Login: user=<alice>');
  });
});
