/**
 * Servers that misbehave, by accident or on purpose. Each case must end in its own clear error or in a
 * correct result, within bounded time and memory, and must never hand over a message that is not
 * byte-identical to what the server stored.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import {
  Pop3AuthenticationError,
  Pop3Error,
  Pop3MessageTooLargeError,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3ServerError,
  Pop3TimeoutError,
} from '../../lib/pop3/errors.ts';
import { MAX_SASL_CHALLENGE_OCTETS, MAX_STATUS_LINE_OCTETS } from '../../lib/pop3/limits.ts';
import { testCertificates } from '../support/certs.ts';
import type { ScriptConnection, ScriptServer, ScriptStep } from '../support/script-server.ts';
import { type BodyStreamSpec, streamBodySha256 } from '../support/stream-body.ts';
import {
  ALICE,
  ALICE_LOGIN,
  connectAsAlice,
  connectTo,
  play,
  readAll,
  rejectionOf,
  scriptServers,
  transcript,
} from '../support/transcript.ts';

const startServer = scriptServers();

/** A server that logs alice in, then does `after`. */
function afterLogin(after: string | ScriptStep[]): Promise<ScriptServer> {
  const steps = typeof after === 'string' ? transcript(after).steps : after;
  return startServer([...ALICE_LOGIN.steps, ...steps]);
}

/** Writes `chunk` (or the next one) again and again until the client goes away. Returns how many octets got out. */
async function sendForever(conn: ScriptConnection, next: string | (() => string)): Promise<number> {
  let gone = false;
  void conn.closed.then(() => {
    gone = true;
  });
  let sent = 0;
  while (!gone) {
    const chunk = typeof next === 'string' ? next : next();
    try {
      await conn.write(chunk);
    } catch {
      break;
    }
    sent += chunk.length;
  }
  return sent;
}

describe('endless replies', () => {
  it('a status line that never ends fails after 512 octets', async () => {
    const server = await startServer((conn) => sendForever(conn, '+OK '.padEnd(1024, 'x')).then(() => {}));
    const started = performance.now();
    const error = await rejectionOf(connectTo(server));
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toContain(`longer than ${MAX_STATUS_LINE_OCTETS} octets`);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a LIST body that never ends fails at the listing cap', async () => {
    const maxListingOctets = 64 * 1024;
    let sent = 0;
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: LIST\n S: +OK'));
      let msg = 0;
      // Valid, distinct scan listings: only the size of the whole reply is wrong.
      sent = await sendForever(conn, () => Array.from({ length: 1000 }, () => `${++msg} 100\r\n`).join(''));
    });
    const client = await connectAsAlice(server, { maxListingOctets });
    const error = await rejectionOf(client.list());
    expect(error).toBeInstanceOf(Pop3MessageTooLargeError);
    expect((error as Pop3MessageTooLargeError).limit).toBe(maxListingOctets);
    await server.done;
    // The client hung up soon after the cap: what got out beyond it fits in the loopback socket buffers.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a SASL challenge that never ends fails at its own, larger cap', async () => {
    const server = await startServer(async (conn) => {
      await play(
        conn,
        transcript(`
          S: +OK ready
          C: CAPA
          S: +OK
          S: SASL CRAM-MD5
          S: .
          C: AUTH CRAM-MD5
        `),
      );
      await conn.write('+ ');
      await sendForever(conn, 'QUFB'.repeat(1024));
    });
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(ALICE, 'cram-md5'));
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toContain(`longer than ${MAX_SASL_CHALLENGE_OCTETS} octets`);
  });
});

describe('silence', () => {
  const DEADLINE_MS = 300;
  /** Timers never fire early, but may fire late on a busy machine. */
  const TIMER_LATENESS_MS = 700;
  const CLOCK_GRANULARITY_MS = 5;

  it('a server that stalls mid-RETR fails the stream with an idle timeout', async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK\r\nSubject: half a message\r\n\r\nthe body stops he' },
      { stall: true },
    ]);
    const client = await connectAsAlice(server, { timeouts: { idleMs: 200 } });
    const started = performance.now();
    const error = await rejectionOf(readAll(client.retr(1)));
    expect(error).toBeInstanceOf(Pop3TimeoutError);
    expect((error as Pop3TimeoutError).phase).toBe('idle');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('the deadline ends a stalled RETR on time, whatever the idle timeout', async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK\r\nSubject: x\r\n' },
      { stall: true },
    ]);
    const started = performance.now();
    const deadline = Deadline.after(DEADLINE_MS);
    const client = await connectAsAlice(server, { deadline, timeouts: { idleMs: 30_000 } });
    const error = await rejectionOf(readAll(client.retr(1)));
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(Pop3TimeoutError);
    expect((error as Pop3TimeoutError).phase).toBe('deadline');
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - CLOCK_GRANULARITY_MS);
    expect(elapsed).toBeLessThan(DEADLINE_MS + TIMER_LATENESS_MS);
  });
});

describe('lies and refusals', () => {
  it('LIST sizes off by ±50 % do not change the RETR bytes', async () => {
    const filler = 'a'.repeat(117);
    const server = await afterLogin(`
      C: LIST
      S: +OK
      S: 1 100
      S: 2 46
      S: .
      C: RETR 1
      S: +OK
      S: Subject: longer than listed
      S:
      S: ${filler}
      S: .
      C: RETR 2
      S: +OK
      S: Subject: short
      S:
      S: bbb
      S: .
    `);
    const long = `Subject: longer than listed\r\n\r\n${filler}\r\n`;
    const short = 'Subject: short\r\n\r\nbbb\r\n';
    expect([long.length, short.length]).toEqual([150, 23]); // 100 + 50 %, 46 - 50 %
    const client = await connectAsAlice(server);
    expect(await client.list()).toEqual([
      { msg: 1, octets: 100 },
      { msg: 2, octets: 46 },
    ]);
    expect((await readAll(client.retr(1))).toString('latin1')).toBe(long);
    expect((await readAll(client.retr(2))).toString('latin1')).toBe(short);
    await server.done;
  });

  it('-ERR [IN-USE] to PASS is an authentication error that says "retry later"', async () => {
    const server = await startServer(
      transcript(`
        S: +OK ready
        C: CAPA
        S: +OK
        S: RESP-CODES
        S: .
        C: USER alice
        S: +OK
        C: PASS secret
        S: -ERR [IN-USE] Mailbox is locked by another session
      `).steps,
    );
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(ALICE, 'user'));
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expect((error as Pop3AuthenticationError).hasCode('IN-USE')).toBe(true);
    expect(error.message).toMatch(/retry later/);
    client.abort();
  });

  it('-ERR [SYS/TEMP] to RETR fails that stream only; the next command works', async () => {
    const server = await afterLogin(`
      C: RETR 1
      S: -ERR [SYS/TEMP] message 1 temporarily unavailable
      C: RETR 2
      S: +OK
      S: Subject: fine
      S: .
      C: QUIT
      S: +OK
    `);
    const client = await connectAsAlice(server);
    const error = await rejectionOf(readAll(client.retr(1)));
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect((error as Pop3ServerError).hasCode('SYS/TEMP')).toBe(true);
    expect((await readAll(client.retr(2))).toString('latin1')).toBe('Subject: fine\r\n');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
  });
});

describe('STLS attacks', () => {
  it('STLS stripped from CAPA: refuse, and send nothing after CAPA', async () => {
    const server = await startServer(
      transcript(`
        S: +OK ready
        C: CAPA
        S: +OK
        S: USER
        S: SASL PLAIN
        S: .
        S: <stall>
      `).steps,
    );
    const error = await rejectionOf(connectTo(server, { tls: 'starttls', ca: testCertificates().caPem }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect(error.message).toMatch(/does not advertise STLS/);
    await server.done; // the stall ends when the client hangs up
    expect(server.received.toString('latin1')).toBe('CAPA\r\n');
  });

  it('a line injected after STLS +OK, before the handshake, is discarded', async () => {
    const injected = '+OK fake\r\n';
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: STLS
      S: .
      C: STLS
      S: +OK Begin TLS
      S: ${injected.trimEnd()}
      S: <tls>
      C: CAPA
      S: +OK
      S: TOP
      S: IMPLEMENTATION genuine
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, { tls: 'starttls', ca: testCertificates().caPem });
    expect(client.discardedBeforeTls).toBe(injected.length);
    expect(client.capabilities.top).toBe(true);
    expect(client.capabilities.implementation).toBe('genuine');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('a connection dropped mid-RETR', () => {
  it.each([
    ['closed (FIN)', { close: true }],
    ['reset (RST)', { reset: true }],
  ] as const)('%s: the stream errors and never ends cleanly', async (_how, drop) => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK\r\nSubject: cut\r\n\r\ncomplete line\r\n' },
      drop as ScriptStep,
    ]);
    const client = await connectAsAlice(server);
    const stream = client.retr(1);
    let ended = false;
    stream.once('end', () => {
      ended = true;
    });
    const error = await rejectionOf(readAll(stream));
    expect(error).toBeInstanceOf(Pop3Error);
    expect(ended).toBe(false);
  });
});

describe('a 200 MB message read by a slow consumer', () => {
  const body: BodyStreamSpec = { totalBytes: 200 * 1024 * 1024 };
  /** The consumer takes a break after every mebibyte, which keeps it well below the server's pace. */
  const PAUSE_EVERY_OCTETS = 1024 * 1024;
  const PAUSE_MS = 30;
  const MAX_RSS_GROWTH = 100 * 1024 * 1024;

  it('arrives complete while memory stays flat (backpressure reaches the socket)', {
    timeout: 90_000,
  }, async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK message follows\r\n' },
      { sendStream: body },
      { expect: 'QUIT' },
      { send: '+OK\r\n' },
    ]);
    const client = await connectAsAlice(server);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);

    const hash = createHash('sha256');
    let count = 0;
    let sinceBreak = 0;
    const slowConsumer = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        count += chunk.length;
        sinceBreak += chunk.length;
        if (sinceBreak < PAUSE_EVERY_OCTETS) return callback();
        sinceBreak = 0;
        void sleep(PAUSE_MS).then(() => callback());
      },
    });
    try {
      await pipeline(client.retr(1), slowConsumer);
    } finally {
      clearInterval(sampler);
    }

    expect(count).toBe(body.totalBytes);
    expect(hash.digest('hex')).toBe(streamBodySha256(body));
    expect(peak - baseline).toBeLessThan(MAX_RSS_GROWTH);
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
  });
});
