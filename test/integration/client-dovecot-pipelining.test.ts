/**
 * Draining a mailbox of 1,000 messages from a real Dovecot: RETR every message, DELE every message, QUIT.
 * Once with RFC 2449 pipelining (Dovecot advertises PIPELINING) and once with it switched off; both
 * must give back every byte and leave the mailbox empty.
 *
 * The connection runs in plain text through a recording proxy, so the tests can see how the client
 * wrote its commands: a "pipelined" drain that silently waited for every reply would pass every byte
 * check and still be slow. CRAM-MD5 logs in, so no password crosses the unencrypted link.
 */
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const MESSAGE_COUNT = 1_000;
const PIPELINE_WINDOW = 64;
const PIPED = { name: 'piped', password: 'piped-pop3-password' };
const SERIAL = { name: 'serial', password: 'serial-pop3-password' };
/** 1,000 RETR and 1,000 DELE, each a round trip when not pipelined. */
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * About 2 KB: headers, then body lines of which some start with a dot, one is a lone dot and one is two
 * dots (all dot-stuffed on the wire, RFC 1939 §3), plus non-ASCII UTF-8 octets.
 */
function generatedMessage(user: string, number: number): Buffer {
  const header = [
    `Message-ID: <${number}.${user}@pipelining.test>`,
    'From: Invoicing <billing@pipelining.test>',
    `To: ${user}@pipelining.test`,
    `Subject: Rechnung Nr. ${number} – fällig`,
    'Date: Thu, 26 Nov 2026 08:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  const body: string[] = ['.', '..'];
  for (let line = 0; line < 24; line++) {
    const text = `line ${line} of message ${number}: Grüße, Straße, naïve café `.padEnd(70, 'x');
    body.push(line % 5 === 0 ? `.${text}` : text);
  }
  return Buffer.from(`${header.join('\r\n')}\r\n\r\n${body.join('\r\n')}\r\n`, 'utf8');
}

const mailbox = (user: string) =>
  Array.from({ length: MESSAGE_COUNT }, (_, index) => generatedMessage(user, index + 1));

/** What the client wrote, one entry per chunk the proxy received from it. */
interface Recorded {
  proxy: TcpProxy;
  clientChunks: Buffer[];
}

let server: DovecotServer;
let recorded: Recorded;

beforeAll(async () => {
  server = await startDovecot({ users: [PIPED, SERIAL] });
  const clientChunks: Buffer[] = [];
  const proxy = await startTcpProxy({
    target: { host: server.host, port: server.pop3Port },
    onClientData: (chunk) => {
      clientChunks.push(Buffer.from(chunk));
      return 'pass';
    },
  });
  recorded = { proxy, clientChunks };
});

afterAll(async () => {
  await recorded?.proxy.close();
  await server?.stop();
});

/** The most commands of one keyword the server received in a single read. */
function mostCommandsInOneChunk(chunks: readonly Buffer[], keyword: string): number {
  const pattern = new RegExp(`^${keyword} \\d+\\r$`, 'gm');
  return Math.max(0, ...chunks.map((chunk) => chunk.toString('latin1').match(pattern)?.length ?? 0));
}

async function drain(user: { name: string; password: string }, pipelining: boolean) {
  const seeded = mailbox(user.name);
  await server.seed(user.name, seeded);
  recorded.clientChunks.length = 0;

  const client = await Pop3Client.connect({
    host: recorded.proxy.host,
    port: recorded.proxy.port,
    tls: 'none',
    pipelining,
    pipelineWindow: PIPELINE_WINDOW,
  });
  await client.login({ kind: 'password', username: user.name, password: user.password }, 'cram-md5');
  expect(client.capabilities.pipelining).toBe(true);

  const listing = await client.list();
  expect(listing).toHaveLength(MESSAGE_COUNT);
  // Every RETR is asked for at once; the client decides how many go on the wire together.
  const bodies = await Promise.all(listing.map(({ msg }) => buffer(client.retr(msg))));
  const wrong = bodies.flatMap((body, index) => (body.equals(seeded[index]!) ? [] : [index + 1]));
  expect(wrong).toEqual([]);

  await Promise.all(listing.map(({ msg }) => client.dele(msg)));
  const quit = await client.quit();
  return { quit, chunks: [...recorded.clientChunks] };
}

describe(`draining ${MESSAGE_COUNT} messages of ~2 KB`, () => {
  it(
    'pipelined: RETR all, DELE all, QUIT — every byte exact, commands sent in batches, mailbox empty',
    async () => {
      const { quit, chunks } = await drain(PIPED, true);

      expect(quit).toEqual({ confirmed: true, text: 'Logging out, messages deleted.' });
      expect(await server.messageCount(PIPED.name)).toBe(0);
      // Batches of commands reached the server in single reads, never more than the window allows.
      for (const keyword of ['RETR', 'DELE']) {
        const most = mostCommandsInOneChunk(chunks, keyword);
        expect(most, keyword).toBeGreaterThan(1);
        expect(most, keyword).toBeLessThanOrEqual(PIPELINE_WINDOW);
      }
    },
    DRAIN_TIMEOUT_MS,
  );

  it(
    'with pipelining off: the same drain, one command per round trip',
    async () => {
      const { quit, chunks } = await drain(SERIAL, false);

      expect(quit).toEqual({ confirmed: true, text: 'Logging out, messages deleted.' });
      expect(await server.messageCount(SERIAL.name)).toBe(0);
      expect(mostCommandsInOneChunk(chunks, 'RETR')).toBe(1);
      expect(mostCommandsInOneChunk(chunks, 'DELE')).toBe(1);
      // Every line the client wrote came in a read of its own.
      const linesPerChunk = chunks.map((chunk) => chunk.toString('latin1').split('\r\n').length - 1);
      expect(Math.max(...linesPerChunk)).toBe(1);
    },
    DRAIN_TIMEOUT_MS,
  );
});
