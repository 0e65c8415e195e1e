/**
 * A small RFC 1939 maildrop held in memory, over plain TCP: what the CLI tests and `npm run demo` poll
 * when there is no real mail server. It behaves like a careful production server:
 *
 *   - CAPA (RFC 2449) lists USER, RESP-CODES, AUTH-RESP-CODE, and on request TOP, UIDL, PIPELINING and
 *     `EXPIRE 0` (TOP and UIDL by default). `commands()` is the log of every command line received. Without `uidl` the UIDL command answers -ERR, like a server that has none.
 *   - USER/PASS log in; a wrong password gets `-ERR [AUTH]`, a maildrop another session holds gets
 *     `-ERR [IN-USE]` (RFC 2449 §8.1.2): one session per maildrop at a time.
 *   - Message numbers are fixed for the session; DELE only marks. QUIT commits the marks (the UPDATE
 *     state, RFC 1939 §6); a connection that drops or is closed without QUIT deletes nothing.
 *   - With `expireZero` the server also removes every message RETR'd in a session that ends with QUIT,
 *     marked or not, as RFC 2449 §6.7 allows for `EXPIRE 0` (Gmail's "delete after download").
 *   - Unique-ids are fixed when the server starts (position + content hash), so they stay the same
 *     across sessions and after other messages are deleted.
 *
 * Message bytes are sent exactly as stored, dot-stuffed (RFC 1939 §3) at the start of the message and
 * after every CRLF. A bare LF does not start a line here, just as it does not for the client's
 * unstuffer, so a stored bare LF followed by "." reaches the client unchanged. A non-empty message that
 * does not end in CRLF gets one appended before sending (the terminator needs a line of its own), and
 * LIST/STAT count that CRLF; an empty message stays empty.
 *
 * Commands are handled strictly one after another, each reply fully handed to the socket (waiting for
 * 'drain') before the next command is read, so pipelined commands are answered in order and a client
 * that stops reading stalls the server instead of filling its memory.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface MemoryMailbox {
  readonly name: string;
  readonly password: string;
  readonly messages: readonly Buffer[];
}

export interface MemoryPop3ServerOptions {
  readonly users: readonly MemoryMailbox[];
  /** Advertise PIPELINING (RFC 2449 §6.6). Pipelined commands are handled either way. @default true */
  readonly pipelining?: boolean;
  /** Offer UIDL. @default true */
  readonly uidl?: boolean;
  /** Advertise `EXPIRE 0` and remove retrieved messages on QUIT. @default false */
  readonly expireZero?: boolean;
  /** Offer TOP (advertised in CAPA; without it TOP answers -ERR). @default true */
  readonly top?: boolean;
  /**
   * Messages one session sees at most, the oldest first, like Gmail's batches of about 250: the rest
   * shows up in later sessions once these are gone. @default all of them
   */
  readonly sessionBatch?: number;
}

export interface MemoryPop3Server {
  readonly host: string;
  readonly port: number;
  /** The messages still in `user`'s maildrop (deletions committed by QUIT are gone), as given. */
  messages(user: string): Buffer[];
  /** Every command line received so far, over all sessions, in order (PASS arguments masked). */
  commands(): string[];
  /** Drops every open session (nothing they marked is deleted) and stops listening. */
  close(): Promise<void>;
}

/** Longest command line, CRLF included (RFC 2449 §4). A longer line is refused and the session ends. */
export const MAX_COMMAND_OCTETS = 255;

/** Unanswered pipelined input kept before the socket stops reading. Our own bound: many full commands. */
const MAX_PENDING_INPUT_OCTETS = 64 * 1024;

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');
const STUFFING_DOT = Buffer.from('.');
const TOO_LONG = Symbol('command line too long');

interface StoredMessage {
  /** What the test gave us; what `messages(user)` returns. */
  readonly original: Buffer;
  /** The octets sent by RETR, before dot-stuffing (original + CRLF when it lacked one). */
  readonly wire: Buffer;
  readonly uid: string;
}

interface Maildrop {
  readonly password: string;
  messages: StoredMessage[];
  locked: boolean;
}

export async function startMemoryPop3Server(options: MemoryPop3ServerOptions): Promise<MemoryPop3Server> {
  const maildrops = new Map<string, Maildrop>();
  for (const user of options.users) {
    if (maildrops.has(user.name)) throw new Error(`user ${user.name} is listed twice`);
    maildrops.set(user.name, {
      password: user.password,
      messages: user.messages.map((original, index) => storedMessage(original, index)),
      locked: false,
    });
  }
  const features: Features = {
    pipelining: options.pipelining ?? true,
    uidl: options.uidl ?? true,
    expireZero: options.expireZero ?? false,
    top: options.top ?? true,
    sessionBatch: options.sessionBatch ?? Number.POSITIVE_INFINITY,
    received: [],
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    new Pop3Session(socket, maildrops, features).start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, resolve);
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    host: LOOPBACK,
    port,
    messages(user) {
      const maildrop = maildrops.get(user);
      if (maildrop === undefined) throw new Error(`no such user: ${user}`);
      return maildrop.messages.map((message) => message.original);
    },
    commands: () => [...features.received],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Features {
  readonly pipelining: boolean;
  readonly uidl: boolean;
  readonly expireZero: boolean;
  readonly top: boolean;
  readonly sessionBatch: number;
  /** The command log behind `commands()`. */
  readonly received: string[];
}

function storedMessage(original: Buffer, index: number): StoredMessage {
  const needsCrlf = original.length > 0 && !original.subarray(-2).equals(CRLF);
  const digest = createHash('sha256').update(original).digest('hex').slice(0, 16);
  return {
    original,
    wire: needsCrlf ? Buffer.concat([original, CRLF]) : original,
    uid: `${index + 1}.${digest}`,
  };
}

type Reply = string | { readonly status: string; readonly body: Buffer[] };

/** One connection: AUTHORIZATION → TRANSACTION → (QUIT) UPDATE. */
class Pop3Session {
  readonly #socket: net.Socket;
  readonly #maildrops: ReadonlyMap<string, Maildrop>;
  readonly #features: Features;
  #input: Buffer = Buffer.alloc(0);
  #busy = false;
  #closed = false;
  #userName: string | undefined;
  /** Set once logged in: the maildrop and the messages as numbered for this session. */
  #maildrop: Maildrop | undefined;
  #snapshot: StoredMessage[] = [];
  readonly #marked = new Set<number>();
  readonly #retrieved = new Set<number>();

  constructor(socket: net.Socket, maildrops: ReadonlyMap<string, Maildrop>, features: Features) {
    this.#socket = socket;
    this.#maildrops = maildrops;
    this.#features = features;
  }

  start(): void {
    this.#socket.on('data', (chunk: Buffer) => {
      this.#input = this.#input.length === 0 ? chunk : Buffer.concat([this.#input, chunk]);
      if (this.#input.length > MAX_PENDING_INPUT_OCTETS) this.#socket.pause();
      void this.#drainCommands();
    });
    this.#socket.on('error', () => {});
    this.#socket.on('close', () => this.#end());
    void this.#send('+OK memory POP3 maildrop ready\r\n');
  }

  async #drainCommands(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let line = this.#nextLine(); line !== undefined && !this.#closed; line = this.#nextLine()) {
        await this.#respond(line);
      }
      if (this.#input.length <= MAX_PENDING_INPUT_OCTETS) this.#socket.resume();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The next complete command line (the CR before LF is optional, as lenient servers accept), or
   * TOO_LONG for a line over the limit. Input over the limit with no LF yet ends the session: it
   * cannot be a command, and waiting for its end would buffer without bound.
   */
  #nextLine(): string | typeof TOO_LONG | undefined {
    const lf = this.#input.indexOf(0x0a);
    if (lf < 0) {
      if (this.#input.length >= MAX_COMMAND_OCTETS) {
        this.#input = Buffer.alloc(0);
        void this.#send('-ERR command line too long\r\n').then(() => this.#socket.end());
        this.#end();
      }
      return undefined;
    }
    const line = this.#input.subarray(0, lf + 1);
    this.#input = this.#input.subarray(lf + 1);
    if (line.length > MAX_COMMAND_OCTETS) return TOO_LONG;
    return line.toString('latin1').replace(/\r?\n$/, '');
  }

  async #respond(line: string | typeof TOO_LONG): Promise<void> {
    if (line === TOO_LONG) {
      await this.#send('-ERR command line too long\r\n');
      return;
    }
    const [keyword = '', ...args] = line.split(' ');
    const command = keyword.toUpperCase();
    this.#features.received.push(command === 'PASS' ? 'PASS ***' : line);
    if (command === 'QUIT') {
      const text = this.#maildrop ? this.#commit() : 'bye';
      await this.#send(`+OK ${text}\r\n`);
      this.#socket.end();
      this.#end();
      return;
    }
    const reply = this.#maildrop ? this.#transaction(command, args) : this.#authorization(command, args);
    if (typeof reply === 'string') await this.#send(`${reply}\r\n`);
    else {
      await this.#send(`${reply.status}\r\n`);
      for (const chunk of reply.body) await this.#send(chunk);
      await this.#send(TERMINATOR);
    }
  }

  #authorization(command: string, args: string[]): Reply {
    switch (command) {
      case 'CAPA':
        return this.#capabilities();
      case 'USER':
        if (args.length !== 1 || args[0] === '') return '-ERR USER needs a name';
        this.#userName = args[0];
        return '+OK send PASS';
      case 'PASS':
        return this.#login(args.join(' '));
      default:
        return `-ERR ${command || 'empty command'} is not valid before login`;
    }
  }

  #login(password: string): string {
    const name = this.#userName;
    this.#userName = undefined;
    if (name === undefined) return '-ERR USER first';
    const maildrop = this.#maildrops.get(name);
    // The same answer for an unknown user and a wrong password: nothing to learn by guessing names.
    if (maildrop === undefined || maildrop.password !== password)
      return '-ERR [AUTH] invalid user name or password';
    if (maildrop.locked) return '-ERR [IN-USE] maildrop already locked by another session';
    maildrop.locked = true;
    this.#maildrop = maildrop;
    this.#snapshot = maildrop.messages.slice(0, this.#features.sessionBatch);
    return `+OK ${name} has ${this.#snapshot.length} messages`;
  }

  #transaction(command: string, args: string[]): Reply {
    switch (command) {
      case 'CAPA':
        return this.#capabilities();
      case 'STAT': {
        const live = this.#liveNumbers();
        return `+OK ${live.length} ${live.reduce((sum, n) => sum + this.#message(n).wire.length, 0)}`;
      }
      case 'LIST':
        return this.#listing(args, (n) => String(this.#message(n).wire.length));
      case 'UIDL':
        if (!this.#features.uidl) return '-ERR UIDL not supported';
        return this.#listing(args, (n) => this.#message(n).uid);
      case 'RETR':
        return this.#withMessage(args, 1, (n) => {
          this.#retrieved.add(n);
          const { wire } = this.#message(n);
          return { status: `+OK ${wire.length} octets`, body: dotStuffed(wire) };
        });
      case 'TOP':
        if (!this.#features.top) return '-ERR TOP not supported';
        return this.#withMessage(args, 2, (n) => {
          const lines = args[1]!;
          if (!/^\d+$/.test(lines)) return '-ERR TOP needs a number of lines';
          return {
            status: '+OK top of message follows',
            body: dotStuffed(topOf(this.#message(n).wire, Number(lines))),
          };
        });
      case 'DELE':
        return this.#withMessage(args, 1, (n) => {
          this.#marked.add(n);
          return `+OK message ${n} marked for deletion`;
        });
      case 'NOOP':
        return '+OK';
      case 'RSET':
        this.#marked.clear();
        return `+OK maildrop has ${this.#snapshot.length} messages`;
      default:
        return `-ERR unknown command ${command}`;
    }
  }

  #capabilities(): Reply {
    const names = ['USER', 'RESP-CODES', 'AUTH-RESP-CODE', 'IMPLEMENTATION memory-pop3'];
    if (this.#features.top) names.push('TOP');
    if (this.#features.uidl) names.push('UIDL');
    if (this.#features.pipelining) names.push('PIPELINING');
    if (this.#features.expireZero) names.push('EXPIRE 0');
    return {
      status: '+OK capability list follows',
      body: [Buffer.from(names.map((n) => `${n}\r\n`).join(''))],
    };
  }

  /** LIST / UIDL: one line for message `n`, or a multi-line listing of every message not marked. */
  #listing(args: string[], value: (n: number) => string): Reply {
    if (args.length === 0) {
      const lines = this.#liveNumbers().map((n) => `${n} ${value(n)}\r\n`);
      return { status: `+OK ${lines.length} messages`, body: [Buffer.from(lines.join(''), 'latin1')] };
    }
    return this.#withMessage(args, 1, (n) => `+OK ${n} ${value(n)}`);
  }

  #withMessage(args: string[], arity: number, handle: (n: number) => Reply): Reply {
    if (args.length !== arity) return `-ERR expected ${arity} argument${arity === 1 ? '' : 's'}`;
    const text = args[0]!;
    const n = /^[1-9]\d{0,9}$/.test(text) ? Number(text) : 0;
    if (n < 1 || n > this.#snapshot.length) return `-ERR no such message ${text}`;
    if (this.#marked.has(n)) return `-ERR message ${n} already deleted`;
    return handle(n);
  }

  #message(n: number): StoredMessage {
    return this.#snapshot[n - 1]!;
  }

  #liveNumbers(): number[] {
    return this.#snapshot.map((_, index) => index + 1).filter((n) => !this.#marked.has(n));
  }

  /** The UPDATE state: removes what was marked (and, under EXPIRE 0, what was retrieved). */
  #commit(): string {
    const maildrop = this.#maildrop!;
    const removed = (n: number) =>
      this.#marked.has(n) || (this.#features.expireZero && this.#retrieved.has(n));
    const gone = new Set(this.#snapshot.filter((_, index) => removed(index + 1)));
    // Messages past this session's batch (sessionBatch) were not in the snapshot and stay.
    maildrop.messages = maildrop.messages.filter((message) => !gone.has(message));
    return `${gone.size} messages deleted, ${maildrop.messages.length} left`;
  }

  /** Releases the maildrop lock; after QUIT's commit, or without any commit when the connection drops. */
  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#maildrop) this.#maildrop.locked = false;
    this.#maildrop = undefined;
  }

  /** Writes and, when the socket's buffer is full, waits for it to drain (or for the socket to close). */
  #send(data: string | Buffer): Promise<void> {
    if (this.#socket.destroyed) return Promise.resolve();
    if (this.#socket.write(data)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.once('drain', done);
      this.#socket.once('close', done);
    });
  }
}

/**
 * RFC 1939 §3 byte-stuffing: a "." is inserted before every line that starts with ".", a line starting
 * at offset 0 and after each CRLF. Returns slices of `message` with the inserted dots in between.
 */
export function dotStuffed(message: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let start = 0;
  if (message[0] === 0x2e) pieces.push(STUFFING_DOT);
  for (let found = message.indexOf('\r\n.'); found >= 0; found = message.indexOf('\r\n.', found + 2)) {
    pieces.push(message.subarray(start, found + 2), STUFFING_DOT);
    start = found + 2;
  }
  pieces.push(message.subarray(start));
  return pieces;
}

/** TOP: the header section, the empty line after it, and the first `lines` lines of the body. */
export function topOf(message: Buffer, lines: number): Buffer {
  const separator = message.subarray(0, 2).equals(CRLF) ? 0 : message.indexOf('\r\n\r\n');
  if (separator < 0) return message;
  let end = separator === 0 ? 2 : separator + 4;
  for (let taken = 0; taken < lines && end < message.length; taken++) {
    const next = message.indexOf(CRLF, end);
    end = next < 0 ? message.length : next + 2;
  }
  return message.subarray(0, end);
}
