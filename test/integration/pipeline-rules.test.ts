/**
 * The pipeline's rules, one server behaviour at a time: RETR -ERR, a reused UIDL, no UIDL, oversized
 * messages (honest and lying sizes), EXPIRE 0, [IN-USE], a wrong password, a failing store.
 * Stored objects and notifications go through the real local adapters.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { failingStore, pipelineFixture } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';
import { stuffed, testMessage, USER_PASS_LOGIN } from '../support/scripted-login.ts';

const { cleanups, ports } = pipelineFixture();

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('pollMailbox rules', () => {
  test('a message the server will not give (RETR -ERR) is skipped, the run goes on, and ends partial', async () => {
    const second = testMessage('second');
    const server = await startScriptServer([
      ...USER_PASS_LOGIN,
      { expect: 'UIDL' },
      { send: '+OK\r\n1 uid-one\r\n2 uid-two\r\n.\r\n' },
      { expect: 'LIST' },
      { send: `+OK\r\n1 100\r\n2 ${second.length}\r\n.\r\n` },
      { expect: 'RETR 1' },
      { send: '-ERR [SYS/TEMP] message 1 is being scanned\r\n' },
      { expect: 'RETR 2' },
      { send: Buffer.concat([Buffer.from('+OK\r\n'), stuffed(second)]) },
      { expect: 'DELE 2' },
      { send: '+OK marked\r\n' },
      { expect: 'QUIT' },
      { send: '+OK bye\r\n' },
    ]);
    cleanups.push(() => server.close());
    const local = ports();
    const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
    await server.done;
    expect(outcome).toMatchObject({ status: 'partial', reason: 'uncommitted', quitConfirmed: true });
    expect(outcome.counts).toMatchObject({
      found: 2,
      retrieved: 1,
      stored: 1,
      notified: 1,
      deleted: 1,
      left: 1,
      uncommitted: 1,
    });
    expect(outcome.skipped).toEqual([
      expect.objectContaining({ msg: 1, uidl: 'uid-one', reason: 'retr-refused' }),
    ]);
    expect([...local.objects().values()]).toEqual([second]);
  });

  test('a different message under a reused UIDL gets its own object; the first is never overwritten', async () => {
    const local = ports();
    const first = testMessage('first under uid-7');
    const second = testMessage('second under uid-7');
    for (const body of [first, second]) {
      const server = await startScriptServer([
        ...USER_PASS_LOGIN,
        { expect: 'UIDL' },
        { send: '+OK\r\n1 uid-7\r\n.\r\n' },
        { expect: 'LIST' },
        { send: `+OK\r\n1 ${body.length}\r\n.\r\n` },
        { expect: 'RETR 1' },
        { send: Buffer.concat([Buffer.from('+OK\r\n'), stuffed(body)]) },
        { expect: 'DELE 1' },
        { send: '+OK\r\n' },
        { expect: 'QUIT' },
        { send: '+OK\r\n' },
      ]);
      const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
      await server.done;
      await server.close();
      expect(outcome.status).toBe('ok');
    }
    const objects = local.objects();
    expect(objects.size).toBe(2);
    expect([...objects.values()].map(sha256).sort()).toEqual([sha256(first), sha256(second)].sort());
    for (const key of objects.keys()) expect(key).toMatch(/^test\/uidl\/uid-7\/[0-9a-f]{64}\.eml$/);
    const keys = local.notifications().map((n) => n.receipt.action.objectKey);
    expect(new Set(keys)).toEqual(new Set(objects.keys()));
  });

  test('without UIDL, objects are keyed by content, so a re-poll of the same bytes adds nothing', async () => {
    const local = ports();
    const messages = [testMessage('one'), testMessage('two')];
    for (let round = 0; round < 2; round++) {
      const server = await startMemoryPop3Server({
        users: [{ name: 'alice', password: 'secret', messages }],
        uidl: false,
      });
      const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
      await server.close();
      expect(outcome).toMatchObject({ status: 'ok', counts: { stored: 2, deleted: 2 } });
    }
    const keys = [...local.objects().keys()].sort();
    expect(keys).toEqual(messages.map((m) => `test/sha256/${sha256(m)}.eml`).sort());
    expect(local.notifications()).toHaveLength(4);
    for (const n of local.notifications()) expect(n.pop3.uidl ?? null).toBeNull();
  });

  test('an oversized message is left on the server and reported; the rest is drained', async () => {
    const small = testMessage('small');
    const big = testMessage('big', `${'x'.repeat(5000)}\r\n`);
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages: [big, small] }],
    });
    cleanups.push(() => server.close());
    const local = ports();
    const mailbox = testMailbox({ port: server.port, limits: { maxMessageBytes: 1000 } });
    const outcome = await pollMailbox(mailbox, local, Deadline.after(20_000));
    expect(outcome).toMatchObject({
      status: 'ok',
      counts: { found: 2, stored: 1, deleted: 1, skipped: 1, left: 1 },
    });
    expect(outcome.skipped[0]).toMatchObject({ msg: 1, reason: 'oversized' });
    expect(server.messages('alice')).toEqual([big]);
  });

  test('oversized messages at the head never hold back later ones, even with a small per-run limit', async () => {
    const bigs = Array.from({ length: 6 }, (_, i) => testMessage(`big ${i}`, `${'x'.repeat(5000)}\r\n`));
    const smalls = Array.from({ length: 3 }, (_, i) => testMessage(`small ${i}`));
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages: [...bigs, ...smalls] }],
    });
    cleanups.push(() => server.close());
    const local = ports();
    const limits = { maxMessageBytes: 1000, maxMessagesPerRun: 2 };
    const mailbox = testMailbox({ port: server.port, limits });
    const first = await pollMailbox(mailbox, local, Deadline.after(20_000));
    expect(first).toMatchObject({ status: 'ok', counts: { found: 9, stored: 2, deleted: 2, skipped: 6 } });
    const second = await pollMailbox(mailbox, local, Deadline.after(20_000));
    expect(second).toMatchObject({ status: 'ok', counts: { found: 7, stored: 1, deleted: 1, skipped: 6 } });
    expect(server.messages('alice')).toEqual(bigs);
  });

  test('a LIST size that lies low does not get an oversized message stored: the RETR is cut off', async () => {
    const big = testMessage('lying size', `${'y'.repeat(4000)}\r\n`);
    const after = testMessage('after');
    const server = await startScriptServer([
      ...USER_PASS_LOGIN,
      { expect: 'UIDL' },
      { send: '+OK\r\n1 a\r\n2 b\r\n.\r\n' },
      { expect: 'LIST' },
      { send: `+OK\r\n1 100\r\n2 ${after.length}\r\n.\r\n` },
      { expect: 'RETR 1' },
      { send: Buffer.concat([Buffer.from('+OK\r\n'), stuffed(big)]) },
      { expect: 'RETR 2' },
      { send: Buffer.concat([Buffer.from('+OK\r\n'), stuffed(after)]) },
      { expect: 'DELE 2' },
      { send: '+OK\r\n' },
      { expect: 'QUIT' },
      { send: '+OK\r\n' },
    ]);
    cleanups.push(() => server.close());
    const local = ports();
    const mailbox = testMailbox({ port: server.port, pipelining: false, limits: { maxMessageBytes: 1000 } });
    const outcome = await pollMailbox(mailbox, local, Deadline.after(20_000));
    await server.done;
    expect(outcome.skipped).toEqual([expect.objectContaining({ msg: 1, reason: 'oversized' })]);
    expect([...local.objects().values()]).toEqual([after]);
    expect(outcome.counts.deleted).toBe(1);
  });

  test('EXPIRE 0: after a message could not be committed, the session ends without QUIT', async () => {
    const messages = [testMessage('a'), testMessage('b'), testMessage('c')];
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages }],
      expireZero: true,
    });
    cleanups.push(() => server.close());
    const local = ports();
    const store = failingStore(local.store, (m) => m.uidl?.startsWith('2.') === true);
    const outcome = await pollMailbox(
      testMailbox({ port: server.port }),
      { ...local, store },
      Deadline.after(20_000),
    );
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'not-committed', quitConfirmed: false });
    expect(outcome.counts).toMatchObject({ stored: 2, notified: 2, deleted: 0, left: 3 });
    // Nothing expired, nothing deleted: the next run finds all three again.
    expect(server.messages('alice')).toEqual(messages);
  });

  test('the same failure without EXPIRE 0 still QUITs, committing what was stored, and ends partial', async () => {
    const messages = [testMessage('a'), testMessage('b'), testMessage('c')];
    const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
    cleanups.push(() => server.close());
    const local = ports();
    const store = failingStore(local.store, (m) => m.uidl?.startsWith('2.') === true);
    const outcome = await pollMailbox(
      testMailbox({ port: server.port }),
      { ...local, store },
      Deadline.after(20_000),
    );
    expect(outcome).toMatchObject({
      status: 'partial',
      reason: 'uncommitted',
      quitConfirmed: true,
      counts: { deleted: 2, skipped: 1, uncommitted: 1 },
    });
    expect(outcome.skipped[0]).toMatchObject({ msg: 2, reason: 'store-failed' });
    expect(server.messages('alice')).toEqual([messages[1]]);
  });

  test('a store that keeps failing stops the run (retry later) without deleting anything unstored', async () => {
    const messages = Array.from({ length: 8 }, (_, i) => testMessage(`m${i}`));
    const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
    cleanups.push(() => server.close());
    const local = ports();
    const store = failingStore(local.store, () => true);
    const outcome = await pollMailbox(
      testMailbox({ port: server.port }),
      { ...local, store },
      Deadline.after(20_000),
    );
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'store', counts: { deleted: 0 } });
    expect(server.messages('alice')).toEqual(messages);
    expect(local.notifications()).toEqual([]);
  });

  test('[IN-USE]: a mailbox locked by another session is "retry later", not an auth failure', async () => {
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages: [testMessage('x')] }],
    });
    cleanups.push(() => server.close());
    const holder = await holdSession(server.port, 'alice', 'secret');
    cleanups.push(() => holder.destroy());
    const outcome = await pollMailbox(testMailbox({ port: server.port }), ports(), Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'IN-USE', counts: { deleted: 0 } });
  });

  test('a wrong password is an auth failure, and the password appears nowhere in the outcome', async () => {
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'right-password', messages: [testMessage('x')] }],
    });
    cleanups.push(() => server.close());
    const mailbox = testMailbox({ port: server.port, credential: { literal: 'wrong-Pa55word' } });
    const outcome = await pollMailbox(mailbox, ports(), Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'auth-failed', reason: 'auth' });
    expect(JSON.stringify(outcome)).not.toContain('wrong-Pa55word');
    expect(server.messages('alice')).toHaveLength(1);
  });

  test.each([
    ['with the login reply', [{ send: '+OK logged in\r\n-ERR [SYS/TEMP] cannot open mailbox\r\n' }]],
    [
      'as the answer to CAPA',
      [
        { send: '+OK logged in\r\n' },
        { expect: 'CAPA' },
        { send: '-ERR [SYS/TEMP] cannot open mailbox\r\n' },
      ],
    ],
  ])(
    'a server failing the session right after login (-ERR [SYS/TEMP] %s) means retry later',
    async (_, failure) => {
      const server = await startScriptServer([...USER_PASS_LOGIN.slice(0, 6), ...failure, { close: true }]);
      cleanups.push(() => server.close());
      const outcome = await pollMailbox(testMailbox({ port: server.port }), ports(), Deadline.after(20_000));
      await server.done;
      expect(outcome).toMatchObject({ status: 'retry-later', reason: 'SYS/TEMP', counts: { deleted: 0 } });
    },
  );

  test('a password that cannot be resolved fails that mailbox with the reason, before any connection', async () => {
    const mailbox = testMailbox({ port: 1, credential: { env: 'MAILBOX_POLLER_TEST_UNSET' } });
    const outcome = await pollMailbox(mailbox, ports(), Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'failed', reason: 'credentials' });
    expect(outcome.message).toContain('MAILBOX_POLLER_TEST_UNSET');
  });
});

/** Logs in on a raw socket and keeps the session open, holding the maildrop lock. */
async function holdSession(port: number, user: string, password: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let seen = '';
  const waitFor = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if ((seen.match(/\r\n/g) ?? []).length >= count) {
          socket.off('data', onData);
          resolve();
        }
      };
      const onData = (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        check();
      };
      socket.on('data', onData);
      check();
    });
  await waitFor(1);
  socket.write(`USER ${user}\r\nPASS ${password}\r\n`);
  await waitFor(3);
  expect(seen).toMatch(/\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK/);
  return socket;
}
