/**
 * A Gmail-like server (a batch of N messages per session, EXPIRE 0) is drained completely in one run: the
 * run logs in again after each committed batch until a session finds nothing. The per-run limits still
 * bind across sessions, `recent:` usernames get one session, and a rate text stops the run with what was
 * stored committed.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { PROVIDER_PROFILES } from '../../lib/config/providers.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const message = (n: number) =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: m${n}\r\n\r\nBody ${n}.\r\n`);

async function gmailLike(count: number, batch: number, user = 'alice') {
  const messages = Array.from({ length: count }, (_, i) => message(i));
  const server = await startMemoryPop3Server({
    users: [{ name: user, password: 'secret', messages }],
    sessionBatch: batch,
    expireZero: true,
  });
  cleanups.push(() => server.close());
  const ports = localPorts();
  cleanups.push(() => ports.remove());
  return { server, ports };
}

const logins = (commands: string[]) => commands.filter((line) => line.startsWith('PASS')).length;

describe('Gmail profile: a batch per session', () => {
  test('23 messages in batches of 5 are drained in one run (5 sessions with mail, 1 that finds none)', async () => {
    const { server, ports } = await gmailLike(23, 5);
    const mailbox = testMailbox({ port: server.port, profile: PROVIDER_PROFILES.gmail });
    const outcome = await pollMailbox(mailbox, ports, Deadline.after(30_000));
    expect(outcome).toMatchObject({
      status: 'ok',
      quitConfirmed: true,
      counts: { found: 23, retrieved: 23, stored: 23, notified: 23, deleted: 23, left: 0, uncommitted: 0 },
    });
    expect(server.messages('alice')).toEqual([]);
    expect(ports.objects().size).toBe(23);
    expect(logins(server.commands())).toBe(6);
  });

  test('the per-run message limit binds across sessions', async () => {
    const { server, ports } = await gmailLike(23, 5);
    const mailbox = testMailbox({
      port: server.port,
      profile: PROVIDER_PROFILES.gmail,
      limits: { maxMessagesPerRun: 12 },
    });
    const outcome = await pollMailbox(mailbox, ports, Deadline.after(30_000));
    expect(outcome.counts).toMatchObject({ retrieved: 12, deleted: 12 });
    expect(server.messages('alice')).toHaveLength(11);
  });

  test('the generic profile keeps to one session', async () => {
    const { server, ports } = await gmailLike(12, 5);
    const outcome = await pollMailbox(testMailbox({ port: server.port }), ports, Deadline.after(30_000));
    expect(outcome.counts).toMatchObject({ found: 5, deleted: 5 });
    expect(logins(server.commands())).toBe(1);
  });

  test('a recent: username gets one session (recent mode lists the same 30 days every time)', async () => {
    const { server, ports } = await gmailLike(12, 5, 'recent:alice');
    const mailbox = testMailbox({
      port: server.port,
      username: 'recent:alice',
      profile: PROVIDER_PROFILES.gmail,
    });
    const outcome = await pollMailbox(mailbox, ports, Deadline.after(30_000));
    expect(outcome.counts).toMatchObject({ found: 5, deleted: 5 });
    expect(logins(server.commands())).toBe(1);
  });
});

describe('a server that stops the session with a rate text', () => {
  test('RETR -ERR "Download exceeded": what was stored is committed, QUIT, retry-later rate-limited', async () => {
    const body = (n: number) => Buffer.concat([Buffer.from('+OK\r\n'), message(n), Buffer.from('.\r\n')]);
    const server = await startScriptServer(async (conn) => {
      await conn.write('+OK ready\r\n');
      for (;;) {
        const line = await conn.readLine();
        const reply: Record<string, string | Buffer> = {
          CAPA: '+OK\r\nUSER\r\nUIDL\r\n.\r\n',
          'USER alice': '+OK\r\n',
          'PASS secret': '+OK\r\n',
          UIDL: '+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n',
          LIST: '+OK\r\n1 60\r\n2 60\r\n3 60\r\n.\r\n',
          'RETR 1': body(1),
          'RETR 2': '-ERR Download exceeded, try again later\r\n',
          'RETR 3': '-ERR Download exceeded, try again later\r\n',
          'DELE 1': '+OK\r\n',
          QUIT: '+OK bye\r\n',
        };
        await conn.write(reply[line] ?? '-ERR unknown\r\n');
        if (line === 'QUIT') return;
      }
    });
    cleanups.push(() => server.close());
    const ports = localPorts();
    cleanups.push(() => ports.remove());
    const mailbox = testMailbox({ port: server.port, pipelining: false });
    const outcome = await pollMailbox(mailbox, ports, Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'rate-limited', quitConfirmed: true });
    expect(outcome.counts).toMatchObject({ stored: 1, notified: 1, deleted: 1 });
    expect(server.transcript()).toContain('C: DELE 1');
    await server.done;
  });
});
