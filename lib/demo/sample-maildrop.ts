/**
 * The POP3 server of `mailbox-poller demo`: one maildrop held in memory, on the loopback interface, on a
 * port the system picks. It is what the demo polls when the user has no mail server at hand, so it ships
 * in the package (the test servers under test/support do not).
 *
 * Only what an RFC 1939 poll needs, done the way the client relies on:
 *   - CAPA (RFC 2449) lists USER, UIDL and PIPELINING, so the client pipelines as with a real server;
 *   - USER/PASS, STAT, LIST, UIDL, RETR, DELE, NOOP, RSET, QUIT; anything else gets -ERR;
 *   - DELE only marks; QUIT commits the marks (the UPDATE state, RFC 1939 §6), and a connection that
 *     drops without QUIT deletes nothing, so the demo shows the same commit rule as a real server;
 *   - RETR sends the stored bytes dot-stuffed (RFC 1939 §3) at the start and after every CRLF.
 *
 * Commands are answered in order as their lines arrive (each reply is small, the samples are a few KiB).
 * This is a server for the demo only: plain TCP on 127.0.0.1, one user; it never faces a network.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';

/** Longest command line, CRLF included (RFC 2449 §4): a client that sends more is not ours. */
const MAX_COMMAND_OCTETS = 255;
const LOOPBACK = '127.0.0.1';
const CRLF = Buffer.from('\r\n');

export interface SampleMaildropOptions {
  readonly user: string;
  readonly password: string;
  /** Each message must end in CRLF (the terminator needs a line of its own). */
  readonly messages: readonly Buffer[];
}

export interface SampleMaildrop {
  readonly host: string;
  readonly port: number;
  /** The messages still on the server: QUIT removed the ones marked in that session. */
  remaining(): readonly Buffer[];
  /** Drops any open session (nothing it marked is deleted) and stops listening. */
  close(): Promise<void>;
}

interface StoredMessage {
  readonly bytes: Buffer;
  /** Position and content hash: stable across sessions, as RFC 1939 §7 asks of a unique-id. */
  readonly uid: string;
}

export async function startSampleMaildrop(options: SampleMaildropOptions): Promise<SampleMaildrop> {
  for (const message of options.messages) {
    if (!message.subarray(-2).equals(CRLF)) throw new Error('every sample message must end in CRLF');
  }
  const maildrop = {
    messages: options.messages.map((bytes, index) => ({
      bytes,
      uid: `${index + 1}.${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`,
    })),
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveSession(socket, options, maildrop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: LOOPBACK,
    port,
    remaining: () => maildrop.messages.map((message) => message.bytes),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One connection: AUTHORIZATION → TRANSACTION → (QUIT) UPDATE. */
function serveSession(
  socket: net.Socket,
  options: SampleMaildropOptions,
  maildrop: { messages: StoredMessage[] },
): void {
  let input = Buffer.alloc(0);
  let userName: string | undefined;
  let session: { readonly snapshot: readonly StoredMessage[]; readonly marked: Set<number> } | undefined;
  /** Set by QUIT: lines pipelined after it get no answer (the socket is ending). */
  let ended = false;
  const send = (data: string | Buffer) => {
    if (!ended && !socket.destroyed) socket.write(data);
  };

  const answer = (line: string): void => {
    const [keyword = '', ...args] = line.split(' ');
    const command = keyword.toUpperCase();
    if (command === 'QUIT') {
      if (session !== undefined) {
        const marked = session.snapshot.filter((_, index) => session?.marked.has(index + 1));
        maildrop.messages = maildrop.messages.filter((message) => !marked.includes(message));
      }
      send('+OK bye\r\n');
      ended = true;
      socket.end();
      return;
    }
    if (command === 'CAPA') {
      send('+OK capability list follows\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n');
      return;
    }
    if (session === undefined) {
      if (command === 'USER' && args.length === 1) {
        userName = args[0];
        send('+OK send PASS\r\n');
      } else if (command === 'PASS' && userName === options.user && args.join(' ') === options.password) {
        session = { snapshot: [...maildrop.messages], marked: new Set() };
        send(`+OK ${session.snapshot.length} messages\r\n`);
      } else {
        userName = undefined;
        send(command === 'PASS' ? '-ERR [AUTH] invalid user name or password\r\n' : '-ERR log in first\r\n');
      }
      return;
    }
    send(transaction(command, args, session.snapshot, session.marked));
  };

  // A client that drops the connection ends its session, marks undone; nothing to report.
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    input = Buffer.concat([input, chunk]);
    for (let lf = input.indexOf(0x0a); lf >= 0; lf = input.indexOf(0x0a)) {
      const line = input.subarray(0, lf + 1);
      input = input.subarray(lf + 1);
      if (line.length > MAX_COMMAND_OCTETS) send('-ERR line too long\r\n');
      else answer(line.toString('latin1').replace(/\r?\n$/, ''));
    }
    if (input.length > MAX_COMMAND_OCTETS) socket.destroy();
  });
  send('+OK mailbox-poller demo maildrop ready\r\n');
}

/** The reply to a TRANSACTION-state command, multi-line replies with their terminator. */
function transaction(
  command: string,
  args: readonly string[],
  snapshot: readonly StoredMessage[],
  marked: Set<number>,
): string | Buffer {
  const live = snapshot.map((_, index) => index + 1).filter((n) => !marked.has(n));
  const numbered = (): number | string => {
    const n = args.length === 1 && /^[1-9]\d{0,9}$/.test(args[0]!) ? Number(args[0]) : 0;
    if (n < 1 || n > snapshot.length || marked.has(n)) return `-ERR no such message ${args[0] ?? ''}\r\n`;
    return n;
  };
  const listing = (value: (n: number) => string): string => {
    if (args.length === 0) return `+OK\r\n${live.map((n) => `${n} ${value(n)}\r\n`).join('')}.\r\n`;
    const n = numbered();
    return typeof n === 'string' ? n : `+OK ${n} ${value(n)}\r\n`;
  };
  const size = (n: number) => String(snapshot[n - 1]!.bytes.length);
  switch (command) {
    case 'STAT':
      return `+OK ${live.length} ${live.reduce((sum, n) => sum + snapshot[n - 1]!.bytes.length, 0)}\r\n`;
    case 'LIST':
      return listing(size);
    case 'UIDL':
      return listing((n) => snapshot[n - 1]!.uid);
    case 'RETR': {
      const n = numbered();
      if (typeof n === 'string') return n;
      const { bytes } = snapshot[n - 1]!;
      return Buffer.concat([
        Buffer.from(`+OK ${bytes.length} octets\r\n`),
        dotStuffed(bytes),
        Buffer.from('.\r\n'),
      ]);
    }
    case 'DELE': {
      const n = numbered();
      if (typeof n === 'string') return n;
      marked.add(n);
      return `+OK message ${n} marked\r\n`;
    }
    case 'NOOP':
      return '+OK\r\n';
    case 'RSET':
      marked.clear();
      return `+OK ${snapshot.length} messages\r\n`;
    default:
      return `-ERR unknown command ${command}\r\n`;
  }
}

/** RFC 1939 §3: a "." before every line that starts with "." (at offset 0 and after each CRLF). */
export function dotStuffed(message: Buffer): Buffer {
  const pieces: Buffer[] = [];
  let start = 0;
  if (message[0] === 0x2e) pieces.push(Buffer.from('.'));
  for (let found = message.indexOf('\r\n.'); found >= 0; found = message.indexOf('\r\n.', found + 2)) {
    pieces.push(message.subarray(start, found + 2), Buffer.from('.'));
    start = found + 2;
  }
  pieces.push(message.subarray(start));
  return Buffer.concat(pieces);
}
