/**
 * A POP3 server whose mailbox exists only as numbers: it can list millions of messages, or list messages
 * as 1 octet and send several MiB, without holding any of it (bodies and listings are generated chunk by
 * chunk, written with the socket's backpressure). For memory tests of the client, which must stay
 * bounded whatever the server claims.
 */
import { once } from 'node:events';
import net from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface LyingMailbox {
  readonly count: number;
  /** What LIST says message `msg` is. */
  readonly listedSize: (msg: number) => number;
  /** What RETR actually sends, in octets of body (before dot-stuffing; lines never start with "."). */
  readonly bodySize: (msg: number) => number;
  /** Unique-ids; the default is a 60-character id from the message number. */
  readonly uidl?: (msg: number) => string;
}

export interface LyingServer {
  readonly host: string;
  readonly port: number;
  /** Message numbers marked with DELE in a session that ended with QUIT. */
  readonly deleted: ReadonlySet<number>;
  close(): Promise<void>;
}

const LISTING_CHUNK_LINES = 4096;
const BODY_LINE = `${'x'.repeat(78)}\r\n`;
const BODY_CHUNK = Buffer.from(BODY_LINE.repeat(Math.floor((64 * 1024) / BODY_LINE.length)), 'latin1');

export async function startLyingServer(mailbox: LyingMailbox): Promise<LyingServer> {
  const deleted = new Set<number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void serve(socket, mailbox, deleted).catch(() => socket.destroy());
  });
  server.listen({ host: LOOPBACK, port: 0 });
  await once(server, 'listening');
  return {
    host: LOOPBACK,
    port: (server.address() as net.AddressInfo).port,
    deleted,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

async function serve(socket: net.Socket, mailbox: LyingMailbox, deleted: Set<number>): Promise<void> {
  const write = async (data: string | Buffer): Promise<void> => {
    if (socket.destroyed) throw new Error('client gone');
    if (socket.write(data)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  };
  const uidl = mailbox.uidl ?? ((msg: number) => `uid-${String(msg).padStart(56, '0')}`);
  const marked = new Set<number>();
  await write('+OK lying POP3 server ready\r\n');
  for await (const line of lines(socket)) {
    const [keyword = '', arg] = line.split(' ');
    const msg = Number(arg);
    switch (keyword.toUpperCase()) {
      case 'CAPA':
        await write('+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n');
        break;
      case 'LIST':
        await write('+OK\r\n');
        await listing(write, mailbox.count, (n) => `${n} ${mailbox.listedSize(n)}`);
        break;
      case 'UIDL':
        await write('+OK\r\n');
        await listing(write, mailbox.count, (n) => `${n} ${uidl(n)}`);
        break;
      case 'RETR':
        await write(`+OK\r\nSubject: message ${msg}\r\n\r\n`);
        for (let left = mailbox.bodySize(msg); left > 0; left -= BODY_CHUNK.length) {
          await write(left >= BODY_CHUNK.length ? BODY_CHUNK : BODY_CHUNK.subarray(0, left));
        }
        await write('\r\n.\r\n');
        break;
      case 'DELE':
        marked.add(msg);
        await write('+OK\r\n');
        break;
      case 'QUIT':
        for (const n of marked) deleted.add(n);
        await write('+OK bye\r\n');
        socket.end();
        return;
      default: // USER, PASS, NOOP
        await write('+OK\r\n');
    }
  }
}

async function listing(
  write: (data: string) => Promise<void>,
  count: number,
  line: (msg: number) => string,
): Promise<void> {
  for (let first = 1; first <= count; first += LISTING_CHUNK_LINES) {
    const last = Math.min(count, first + LISTING_CHUNK_LINES - 1);
    let chunk = '';
    for (let msg = first; msg <= last; msg++) chunk += `${line(msg)}\r\n`;
    await write(chunk);
  }
  await write('.\r\n');
}

async function* lines(socket: net.Socket): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of socket) {
    pending += (chunk as Buffer).toString('latin1');
    let lf = pending.indexOf('\n');
    while (lf !== -1) {
      yield pending.slice(0, lf).replace(/\r$/, '');
      pending = pending.slice(lf + 1);
      lf = pending.indexOf('\n');
    }
  }
}
