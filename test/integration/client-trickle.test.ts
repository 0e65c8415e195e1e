/**
 * A server that trickles (a byte now and then) never trips the idle timeout, so without a minimum pace it
 * could hold a run for as long as it liked. Limits here are small so each case ends within seconds; the
 * tests assert how the run ends, not how fast.
 */
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { Pop3TimeoutError } from '../../lib/pop3/errors.ts';
import { testMailbox } from '../support/mailbox.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import type { ScriptConnection } from '../support/script-server.ts';
import {
  ALICE_LOGIN,
  connectAsAlice,
  play,
  rejectionOf,
  scriptServers,
  transcript,
} from '../support/transcript.ts';

const startServer = scriptServers();

/** Sends `text` one octet at a time, `everyMs` apart, until done or the client goes away. */
async function trickle(conn: ScriptConnection, text: string, everyMs: number): Promise<void> {
  let gone = false;
  void conn.closed.then(() => {
    gone = true;
  });
  for (const octet of Buffer.from(text, 'latin1')) {
    if (gone) return;
    await conn.write(Buffer.of(octet)).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** "1 abc1\r\n2 abc2\r\n...": a valid listing of `count` messages. */
function numbered(count: number, prefix: string): string {
  return Array.from({ length: count }, (_, i) => `${i + 1} ${prefix}${i + 1}\r\n`).join('');
}

const slowPace = { replyMs: 300, minBytesPerSecond: 100, idleMs: 5_000 };

describe('a trickling server', () => {
  it('a UIDL listing sent a byte at a time fails with a "slow" timeout', async () => {
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: UIDL'));
      await trickle(conn, `+OK\r\n${numbered(1000, 'abc')}.\r\n`, 20);
    });
    const client = await connectAsAlice(server, { timeouts: slowPace });
    const error = await rejectionOf(client.uidl());
    expect(error).toBeInstanceOf(Pop3TimeoutError);
    expect((error as Pop3TimeoutError).phase).toBe('slow');
    expect(error.message).toContain('reply to UIDL');
  });

  it('a RETR body sent a byte at a time fails the message stream', async () => {
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: RETR 1'));
      await trickle(conn, `+OK\r\nSubject: slow\r\n\r\n${'x'.repeat(10_000)}\r\n.\r\n`, 20);
    });
    const client = await connectAsAlice(server, { timeouts: slowPace });
    const error = await rejectionOf(drain(client.retr(1)));
    expect(error).toBeInstanceOf(Pop3TimeoutError);
    expect((error as Pop3TimeoutError).phase).toBe('slow');
  });

  it('a reply that is merely slow to start, then arrives at speed, passes', async () => {
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: LIST'));
      await new Promise((resolve) => setTimeout(resolve, 150));
      await conn.write(`+OK\r\n${Array.from({ length: 500 }, (_, i) => `${i + 1} 100\r\n`).join('')}.\r\n`);
      await play(conn, transcript('C: QUIT\n S: +OK'));
    });
    const client = await connectAsAlice(server, { timeouts: slowPace });
    expect(await client.list()).toHaveLength(500);
    expect((await client.quit()).confirmed).toBe(true);
  });

  it('with the default pace, the run still ends at its deadline and deletes nothing', async () => {
    let received = '';
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: UIDL'));
      await trickle(conn, `+OK\r\n${numbered(1000, 'abc')}.\r\n`, 50);
      received = conn.received.toString('latin1');
    });
    const local = localPorts();
    try {
      const outcome = await pollMailbox(
        testMailbox({ port: server.port, pipelining: false }),
        local,
        Deadline.after(1_500),
        { timeouts: { idleMs: 5_000 } },
      );
      expect(outcome).toMatchObject({ status: 'retry-later', reason: 'deadline', quitConfirmed: false });
      await server.done;
      expect(received).not.toContain('DELE');
    } finally {
      local.remove();
    }
  });
});

async function drain(stream: Readable): Promise<void> {
  for await (const _chunk of stream) {
    // discard
  }
}
