/**
 * A dry run changes nothing: no RETR, no DELE, no object, no notification, and on a server that
 * expires retrieved messages (EXPIRE 0, Gmail) it never lets the session reach the UPDATE state after
 * TOP. Checked on the server's own log of the commands it received.
 */
import { describe, expect, test } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';

const { cleanups, ports } = pipelineFixture();

const MESSAGES = [
  Buffer.from('From: Ann <ann@example.com>\r\nSubject: first\r\n\r\nhello\r\n'),
  Buffer.from(
    'From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.com>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx\r\n',
  ),
  Buffer.from(`From: big@example.com\r\nSubject: too big\r\n\r\n${'y'.repeat(3000)}\r\n`),
  Buffer.from('Subject: last\r\n\r\nwaits for the next run\r\n'),
];

async function maildrop(features: { expireZero?: boolean; top?: boolean }) {
  const server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: 'secret', messages: MESSAGES }],
    ...features,
  });
  cleanups.push(() => server.close());
  return server;
}

/** Oversized at 1000 octets; two messages per run, so the fourth waits. */
const limits = { maxMessageBytes: 1000, maxMessagesPerRun: 2 };

describe('pollMailbox dry run', () => {
  test('EXPIRE 0: only UIDL, LIST and TOP; no QUIT; every message stays; the report lists each', async () => {
    const server = await maildrop({ expireZero: true });
    const local = ports();
    const outcome = await pollMailbox(
      testMailbox({ port: server.port, limits }),
      local,
      Deadline.after(20_000),
      {
        dryRun: true,
      },
    );

    expect(outcome).toMatchObject({ status: 'ok', reason: 'dry-run', quitConfirmed: false });
    expect(outcome.counts).toMatchObject({
      found: 4,
      retrieved: 0,
      stored: 0,
      notified: 0,
      deleted: 0,
      left: 4,
    });
    const sizes = MESSAGES.map((bytes) => bytes.length);
    expect(outcome.dryRun).toEqual([
      {
        msg: 1,
        uidl: expect.stringMatching(/^1\./),
        size: sizes[0],
        action: 'retrieve',
        from: 'Ann <ann@example.com>',
        subject: 'first',
      },
      {
        msg: 2,
        uidl: expect.stringMatching(/^2\./),
        size: sizes[1],
        action: 'retrieve',
        from: 'Jürgen <j@example.com>',
        subject: 'Grüße',
      },
      {
        msg: 3,
        uidl: expect.stringMatching(/^3\./),
        size: sizes[2],
        action: 'leave',
        leftBecause: 'oversized',
        from: 'big@example.com',
        subject: 'too big',
      },
      {
        msg: 4,
        uidl: expect.stringMatching(/^4\./),
        size: sizes[3],
        action: 'leave',
        leftBecause: 'per-run-limit',
        subject: 'last',
      },
    ]);

    const commands = server.commands();
    const verbs = commands.map((line) => line.split(' ')[0]);
    expect(verbs).not.toContain('RETR');
    expect(verbs).not.toContain('DELE');
    // TOP may count as a retrieval on a server that expires retrieved messages: never QUIT after it.
    expect(commands).toEqual(expect.arrayContaining(['TOP 1 0', 'TOP 2 0', 'TOP 3 0', 'TOP 4 0']));
    expect(verbs).not.toContain('QUIT');
    expect(server.messages('alice')).toEqual(MESSAGES);
    expect(local.objects().size).toBe(0);
    expect(local.notifications()).toEqual([]);
  });

  test('without TOP: no From/Subject, and the session ends with QUIT (nothing was read)', async () => {
    const server = await maildrop({ expireZero: true, top: false });
    const local = ports();
    const outcome = await pollMailbox(
      testMailbox({ port: server.port, limits }),
      local,
      Deadline.after(20_000),
      {
        dryRun: true,
      },
    );

    expect(outcome).toMatchObject({ status: 'ok', reason: 'dry-run', quitConfirmed: true });
    expect(outcome.dryRun?.map((entry) => [entry.msg, entry.action, entry.from, entry.subject])).toEqual([
      [1, 'retrieve', undefined, undefined],
      [2, 'retrieve', undefined, undefined],
      [3, 'leave', undefined, undefined],
      [4, 'leave', undefined, undefined],
    ]);
    const verbs = server.commands().map((line) => line.split(' ')[0]);
    expect(verbs.filter((verb) => ['RETR', 'TOP', 'DELE'].includes(verb!))).toEqual([]);
    expect(verbs.at(-1)).toBe('QUIT');
    expect(server.messages('alice')).toEqual(MESSAGES);
    expect(local.objects().size).toBe(0);
  });
});
