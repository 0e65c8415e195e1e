/**
 * The deadline: given little time, the run stops starting new messages early enough that what is in
 * flight is still stored, notified, deleted and committed by a QUIT the server confirms before the
 * deadline (after it, the connection is cut and nothing would be committed). The server sits behind a
 * 40 ms round trip and the store takes 100 ms a message, 16 at a time, so the mailbox cannot be drained in
 * time.
 */
import { createHash } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore } from '../../lib/ports.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function slowStore(inner: MessageStore, delayMs: number): MessageStore {
  return {
    async put(message) {
      const stored = await inner.put(message);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return stored;
    },
  };
}

test('with a small budget the run QUITs in time, and everything it deleted is stored and notified', async () => {
  const messages = Array.from({ length: 600 }, (_, i) =>
    Buffer.from(`Subject: message ${i}\r\n\r\n${`line of message ${i}\r\n`.repeat(50)}`),
  );
  const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
  const proxy = await startTcpProxy({ target: { host: server.host, port: server.port }, delayMs: 20 });
  const local = localPorts();
  cleanups.push(
    () => server.close(),
    () => proxy.close(),
    () => local.remove(),
  );

  const outcome = await pollMailbox(
    testMailbox({ port: proxy.port }),
    { ...local, store: slowStore(local.store, 100) },
    Deadline.after(3_000),
    { maxInFlightMessages: 16 },
  );

  expect(outcome).toMatchObject({ status: 'retry-later', reason: 'deadline', quitConfirmed: true });
  const left = server.messages('alice');
  const deletedCount = messages.length - left.length;
  expect(deletedCount).toBeGreaterThan(0);
  expect(left.length).toBeGreaterThan(0);
  expect(outcome.counts).toMatchObject({ deleted: deletedCount, left: left.length });

  const stillThere = new Set(left.map(sha256));
  const deleted = messages.filter((m) => !stillThere.has(sha256(m)));
  const stored = new Map([...local.objects()].map(([key, bytes]) => [sha256(bytes), key]));
  const notifiedKeys = new Set(local.notifications().map((n) => n.receipt.action.objectKey));
  for (const message of deleted) {
    const key = stored.get(sha256(message));
    expect(key, 'a deleted message must have been stored').toBeDefined();
    expect(notifiedKeys.has(key!), 'a deleted message must have been notified').toBe(true);
  }
});
