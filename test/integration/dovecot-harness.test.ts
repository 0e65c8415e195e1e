/**
 * The Dovecot harness itself, checked with a raw socket (not the client under test): it must hand out a
 * real server that greets, logs in, speaks implicit TLS with a certificate we can verify, serves seeded
 * messages byte-for-byte in seed order, and leaves nothing behind.
 */
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithCorpus, loadCorpus, pop3Form, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { dotUnstuff, LineSocket } from '../support/line-socket.ts';

const ALICE = { name: 'alice', password: 'correct horse' };
const BOB = { name: 'bob', password: 'battery staple' };

function message(subject: string, body: string): Buffer {
  return Buffer.from(`From: sender@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
}

async function login(server: DovecotServer, user = ALICE): Promise<LineSocket> {
  const conn = await LineSocket.connect({ port: server.pop3Port });
  expect(await conn.readLine()).toMatch(/^\+OK/);
  expect(await conn.command(`USER ${user.name}`)).toMatch(/^\+OK/);
  expect(await conn.command(`PASS ${user.password}`)).toMatch(/^\+OK/);
  return conn;
}

describe('Dovecot harness', () => {
  let server: DovecotServer;

  beforeAll(async () => {
    server = await startDovecot({ users: [ALICE, BOB] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('greets on the plain port and accepts USER/PASS', async () => {
    const conn = await login(server);
    expect(await conn.command('STAT')).toBe('+OK 0 0');
    expect(await conn.command('QUIT')).toMatch(/^\+OK/);
  });

  it('rejects wrong passwords promptly, without a growing auth penalty', async () => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const conn = await LineSocket.connect({ port: server.pop3Port });
      await conn.readLine();
      await conn.command(`USER ${ALICE.name}`);
      const started = performance.now();
      expect(await conn.command('PASS wrong')).toMatch(/^-ERR \[AUTH\]/);
      // Dovecot's penalty would be 2 s, then 4 s; its failure timer alone answers within 0.5 s.
      expect(performance.now() - started).toBeLessThan(1_500);
      await conn.command('QUIT');
    }
  });

  it('speaks implicit TLS on pop3sPort with a certificate that verifies against caPem', async () => {
    const conn = await LineSocket.connect({ port: server.pop3sPort, tls: { ca: server.caPem } });
    expect((conn.socket as tls.TLSSocket).authorized).toBe(true);
    expect(await conn.readLine()).toMatch(/^\+OK/);
    await conn.command('QUIT');
  });

  it('refuses implicit TLS to a client that does not trust the CA', async () => {
    await expect(LineSocket.connect({ port: server.pop3sPort, tls: { ca: '' } })).rejects.toThrow(
      /self-signed|unable to (get|verify)/,
    );
  });

  it('upgrades the plain port with STLS', async () => {
    const conn = await LineSocket.connect({ port: server.pop3Port });
    await conn.readLine();
    expect(await conn.command('STLS')).toMatch(/^\+OK/);
    await conn.startTlsClient(server.caPem);
    expect(await conn.command(`USER ${ALICE.name}`)).toMatch(/^\+OK/);
    expect(await conn.command(`PASS ${ALICE.password}`)).toMatch(/^\+OK/);
    await conn.command('QUIT');
  });

  it('accepts APOP with the timestamp from the greeting', async () => {
    const conn = await LineSocket.connect({ port: server.pop3Port });
    const timestamp = /<[^>]+>/.exec(await conn.readLine())?.[0];
    expect(timestamp).toBeDefined();
    const digest = createHash('md5').update(`${timestamp}${ALICE.password}`).digest('hex');
    expect(await conn.command(`APOP ${ALICE.name} ${digest}`)).toMatch(/^\+OK/);
    await conn.command('QUIT');
  });

  it('accepts AUTH CRAM-MD5', async () => {
    const conn = await LineSocket.connect({ port: server.pop3Port });
    await conn.readLine();
    const challenge = (await conn.command('AUTH CRAM-MD5')).replace(/^\+ /, '');
    const hmac = createHmac('md5', ALICE.password).update(Buffer.from(challenge, 'base64')).digest('hex');
    const answer = Buffer.from(`${ALICE.name} ${hmac}`).toString('base64');
    expect(await conn.command(answer)).toMatch(/^\+OK/);
    await conn.command('QUIT');
  });

  it('serves seeded messages byte-for-byte, in seed order, and counts them', async () => {
    const seeded = [message('one', 'first'), message('two', '.leading dot'), message('three', 'third')];
    await server.seed(ALICE.name, seeded);
    expect(await server.messageCount(ALICE.name)).toBe(3);

    const conn = await login(server);
    const total = seeded.reduce((sum, m) => sum + m.length, 0);
    expect(await conn.command('STAT')).toBe(`+OK 3 ${total}`);
    for (const [i, expected] of seeded.entries()) {
      expect(await conn.command(`RETR ${i + 1}`)).toMatch(/^\+OK/);
      expect(dotUnstuff(await conn.readMultiline())).toEqual(expected);
    }
    expect(await conn.command('UIDL')).toMatch(/^\+OK/);
    const uidls = (await conn.readMultiline()).toString().trim().split('\r\n');
    expect(uidls).toHaveLength(3);
    for (const line of uidls) expect(line).toMatch(/^\d+ [0-9a-f]{16}$/);
    await conn.command('QUIT');
  });

  it('keeps the order of many messages seeded in several calls', async () => {
    await server.clear(BOB.name);
    const subjects = Array.from({ length: 25 }, (_, i) => `message ${i}`);
    await server.seed(
      BOB.name,
      subjects.slice(0, 10).map((s) => message(s, s)),
    );
    await server.seed(
      BOB.name,
      subjects.slice(10).map((s) => message(s, s)),
    );

    const conn = await login(server, BOB);
    const served: string[] = [];
    for (let n = 1; n <= subjects.length; n++) {
      await conn.command(`TOP ${n} 0`);
      served.push(/Subject: (.*)\r\n/.exec((await conn.readMultiline()).toString())?.[1] ?? '');
    }
    expect(served).toEqual(subjects);
    await conn.command('QUIT');
  });

  it('deletes for real: after DELE and QUIT the maildir is empty', async () => {
    await server.clear(ALICE.name);
    await server.seed(ALICE.name, [message('gone', 'soon')]);
    const conn = await login(server);
    expect(await conn.command('DELE 1')).toMatch(/^\+OK/);
    expect(await conn.command('QUIT')).toMatch(/^\+OK/);
    await conn.closed;
    expect(await server.messageCount(ALICE.name)).toBe(0);
  });

  it('clear() empties a mailbox without reusing UIDLs', async () => {
    await server.clear(ALICE.name);
    await server.seed(ALICE.name, [message('before', 'x')]);
    let conn = await login(server);
    expect(await conn.command('UIDL 1')).toMatch(/^\+OK 1 /);
    const before = (await conn.command('UIDL 1')).split(' ')[2];
    await conn.command('QUIT');

    await server.clear(ALICE.name);
    expect(await server.messageCount(ALICE.name)).toBe(0);
    await server.seed(ALICE.name, [message('after', 'y')]);
    conn = await login(server);
    const after = (await conn.command('UIDL 1')).split(' ')[2];
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    await conn.command('QUIT');
  });
});

describe('Dovecot harness options and lifecycle', () => {
  it('refuses plaintext logins from an unsecured address when disablePlaintextAuth is set', async () => {
    const server = await startDovecot({ users: [ALICE], disablePlaintextAuth: true });
    try {
      const conn = await LineSocket.connect({ host: server.unsecuredHost, port: server.pop3Port });
      await conn.readLine();
      await conn.command(`USER ${ALICE.name}`);
      expect(await conn.command(`PASS ${ALICE.password}`)).toMatch(/^-ERR \[AUTH\] Plaintext authentication/);
      await conn.command('QUIT');

      const secured = await LineSocket.connect({ host: server.host, port: server.pop3Port });
      await secured.readLine();
      await secured.command(`USER ${ALICE.name}`);
      expect(await secured.command(`PASS ${ALICE.password}`)).toMatch(/^\+OK/);
      await secured.command('QUIT');
    } finally {
      await server.stop();
    }
  });

  it('uses the configured UIDL format', async () => {
    const server = await startDovecot({ users: [ALICE], uidlFormat: 'uid-%u' });
    try {
      await server.seed(ALICE.name, [message('a', 'a'), message('b', 'b')]);
      const conn = await login(server);
      await conn.command('UIDL');
      expect((await conn.readMultiline()).toString()).toBe('1 uid-1\r\n2 uid-2\r\n');
      await conn.command('QUIT');
    } finally {
      await server.stop();
    }
  });

  it('answers a second session with [IN-USE] when pop3LockSession is set', async () => {
    const server = await startDovecot({ users: [ALICE], pop3LockSession: true });
    try {
      const holder = await login(server);
      const second = await LineSocket.connect({ port: server.pop3Port });
      await second.readLine();
      await second.command(`USER ${ALICE.name}`);
      // Dovecot waits for the lock for about 10 s before giving up.
      expect(await second.command(`PASS ${ALICE.password}`)).toMatch(/^-ERR \[IN-USE\]/);
      await holder.command('QUIT');
    } finally {
      await server.stop();
    }
  });

  it('runs two instances side by side and removes everything on stop', async () => {
    const [first, second] = await Promise.all([startDovecot(), startDovecot()]);
    expect(new Set([first.pop3Port, first.pop3sPort, second.pop3Port, second.pop3sPort]).size).toBe(4);
    for (const server of [first, second]) {
      const conn = await LineSocket.connect({ port: server.pop3Port });
      expect(await conn.readLine()).toMatch(/^\+OK/);
      await conn.command('QUIT');
    }
    await second.seed('alice', [message('only in second', 'x')]);
    expect(await first.messageCount('alice')).toBe(0);
    expect(await second.messageCount('alice')).toBe(1);

    await Promise.all([first.stop(), second.stop()]);
    for (const server of [first, second]) {
      await expect(LineSocket.connect({ port: server.pop3Port })).rejects.toThrow(/ECONNREFUSED/);
      expect(fs.existsSync(server.directory)).toBe(false);
      // The whole process group is gone, not only the master.
      expect(() => process.kill(-server.pid, 0)).toThrow(/ESRCH/);
    }
  });
});

describeWithCorpus('Dovecot harness with the mail corpus', () => {
  it('serves every corpus message in POP3 form, whether seeded CRLF-normalised or as found', async () => {
    const corpus = loadCorpus();
    const server = await startDovecot({ users: [ALICE, BOB] });
    try {
      await server.seed(
        ALICE.name,
        corpus.map((m) => toCrlf(m.bytes)),
      );
      await server.seed(
        BOB.name,
        corpus.map((m) => m.bytes),
      );
      for (const user of [ALICE, BOB]) {
        const conn = await login(server, user);
        expect(await conn.command('STAT')).toMatch(new RegExp(`^\\+OK ${corpus.length} `));
        const mismatches: string[] = [];
        for (const [i, m] of corpus.entries()) {
          await conn.command(`RETR ${i + 1}`);
          if (!dotUnstuff(await conn.readMultiline()).equals(pop3Form(m.bytes))) mismatches.push(m.name);
        }
        expect(mismatches).toEqual([]);
        await conn.command('QUIT');
      }
    } finally {
      await server.stop();
    }
  });
});
