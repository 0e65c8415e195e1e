/**
 * What a run reports: a run that leaves only what the rules leave is ok; one that could not commit a
 * message it took on is partial; a notifier that keeps failing stops the run like a failing store does.
 * Stored objects and notifications go through the real local adapters.
 */
import { describe, expect, test } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';
import { stuffed, testMessage, USER_PASS_LOGIN } from '../support/scripted-login.ts';

const { cleanups, ports } = pipelineFixture();

describe('pollMailbox outcomes', () => {
  test('an oversized message and one over the per-run limit are left by rule: ok, nothing uncommitted', async () => {
    const messages = [testMessage('big', `${'x'.repeat(5000)}\r\n`), testMessage('a'), testMessage('b')];
    const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
    cleanups.push(() => server.close());
    const mailbox = testMailbox({
      port: server.port,
      limits: { maxMessageBytes: 1000, maxMessagesPerRun: 1 },
    });
    const outcome = await pollMailbox(mailbox, ports(), Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'ok', counts: { deleted: 1, left: 2, uncommitted: 0 } });
    expect(outcome.reason).toBeUndefined();
  });

  test('a notifier that keeps failing stops the run: retry later, QUIT commits what was notified', async () => {
    const messages = Array.from({ length: 12 }, (_, i) => testMessage(`m${i}`));
    const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
    cleanups.push(() => server.close());
    const local = ports();
    // One notification at a time, so the order is plain: two go through, then the queue is gone.
    let sends = 0;
    const notifier = {
      maxBatchSize: 1,
      async send(batch: Parameters<typeof local.notifier.send>[0]) {
        if (++sends > 2) throw new Error('QueueDoesNotExist: The specified queue does not exist.');
        return local.notifier.send(batch);
      },
    };
    const mailbox = testMailbox({ port: server.port, pipelining: false });
    const outcome = await pollMailbox(mailbox, { ...local, notifier }, Deadline.after(20_000), {
      maxInFlightMessages: 1,
    });
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'notify', quitConfirmed: true });
    expect(outcome.message).toMatch(/^3 notifications failed in a row \(last: .*QueueDoesNotExist/);
    expect(outcome.counts).toMatchObject({ found: 12, notified: 2, deleted: 2, left: 10 });
    // It stopped: not every message was retrieved, and nothing it could not notify was deleted.
    expect(outcome.counts.retrieved).toBeLessThan(12);
    expect(outcome.counts.uncommitted).toBe(outcome.counts.stored - 2);
    expect(server.messages('alice')).toEqual(messages.slice(2));
    expect(server.commands()).toContain('QUIT');
    expect(local.notifications()).toHaveLength(2);
  });

  test('DELE -ERR leaves the message (stored and notified) on the server: partial', async () => {
    const only = testMessage('only');
    const server = await startScriptServer([
      ...USER_PASS_LOGIN,
      { expect: 'UIDL' },
      { send: '+OK\r\n1 uid-one\r\n.\r\n' },
      { expect: 'LIST' },
      { send: `+OK\r\n1 ${only.length}\r\n.\r\n` },
      { expect: 'RETR 1' },
      { send: Buffer.concat([Buffer.from('+OK\r\n'), stuffed(only)]) },
      { expect: 'DELE 1' },
      { send: '-ERR message is locked\r\n' },
      { expect: 'QUIT' },
      { send: '+OK bye\r\n' },
    ]);
    cleanups.push(() => server.close());
    const outcome = await pollMailbox(testMailbox({ port: server.port }), ports(), Deadline.after(20_000));
    await server.done;
    expect(outcome).toMatchObject({ status: 'partial', counts: { notified: 1, deleted: 0, uncommitted: 1 } });
    expect(outcome.skipped).toEqual([expect.objectContaining({ msg: 1, reason: 'dele-refused' })]);
  });
});
