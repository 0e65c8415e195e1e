/**
 * One POP3 session's protocol state, without I/O (h11 style): commands go in, the bytes to write come
 * out; bytes read go in, events per command come out. It owns the single queue of replies in flight (the
 * decoder's expectations are pushed here and nowhere else, so they cannot drift from the commands), the
 * pipelining window rule, the greeting, the reading of collected bodies (LIST, UIDL, CAPA), and the
 * mapping of -ERR to the error class the caller acts on. It owns the session state too (session-state.ts):
 * each command it accepts and each reply it completes advance it, and a command the state forbids is
 * refused before it is queued, so nothing outside can send out of turn or move the state. Sockets, timers
 * and flow control stay outside (lib/pop3-client/conversation.ts), so every rule here is tested byte by
 * byte without a socket.
 *
 * Pipelining (RFC 2449 §6.6): up to `window` pipelinable commands are in flight at once. A command that
 * changes the connection or the session (STLS, AUTH, USER/PASS/APOP, QUIT, UTF8) goes out only when
 * nothing else is in flight, and nothing follows it until its reply is in; the one exception is a
 * command's declared partner (`follows`: PASS right behind USER) when the server pipelines.
 */
import type { BodyReader } from './body-lines.ts';
import type { Pop3Command } from './commands.ts';
import { Pop3AuthenticationError, Pop3ServerError } from './errors.ts';
import { DEFAULT_MAX_LISTING_ENTRIES, DEFAULT_MAX_LISTING_OCTETS } from './limits.ts';
import { ReplyDecoder, type StatusLine } from './reply-decoder.ts';
import {
  type SessionState,
  SessionStateMachine,
  type SessionView,
  type StateGatedCommand,
} from './session-state.ts';

/** -ERR to these is a refused login (Pop3AuthenticationError); '*SASL' is an AUTH continuation line. */
const AUTH_KEYWORDS = new Set(['USER', 'PASS', 'APOP', 'AUTH', '*SASL']);

/** The greeting: a reply nobody asked for, expected first (RFC 1939 §4). */
export const GREETING: Pop3Command<void> = {
  keyword: 'greeting',
  line: Buffer.alloc(0),
  display: 'greeting',
  shape: 'single',
  allowedIn: ['AUTHORIZATION'],
  pipelinable: false,
  bodyMode: 'none',
  expectOptions: { label: 'greeting' },
  parse: () => undefined,
};

export interface ConnectionOptions {
  /** "host:port", named in the errors. */
  readonly server?: string;
  /** Most pipelinable commands in flight at once. */
  readonly window: number;
  /** Cap on a collected body (LIST, UIDL, CAPA). @default DEFAULT_MAX_LISTING_OCTETS */
  readonly maxListingOctets?: number;
  /** Entries a LIST or UIDL listing keeps. @default DEFAULT_MAX_LISTING_ENTRIES */
  readonly maxListingEntries?: number;
  /** The connection is TLS from its first byte (implicit TLS): STLS is refused. @default false */
  readonly tlsActive?: boolean;
}

export type ConnectionEvent<H> =
  /** Body bytes of a 'stream' command (RETR, TOP), unstuffed. */
  | { readonly type: 'data'; readonly handle: H; readonly chunk: Buffer }
  /** The reply is complete: +OK (or a SASL '+' continuation) and its parsed value. */
  | { readonly type: 'reply'; readonly handle: H; readonly status: StatusLine; readonly value: unknown }
  /** The reply is complete and is -ERR, or could not be parsed: this command failed, the session goes on. */
  | { readonly type: 'failed'; readonly handle: H; readonly error: Error };

interface Entry<H> {
  readonly command: Pop3Command<unknown>;
  readonly handle: H;
  status: StatusLine | undefined;
  reader: BodyReader<unknown> | undefined;
}

export class Pop3Connection<H> implements SessionView {
  readonly #decoder = new ReplyDecoder();
  readonly #options: ConnectionOptions;
  readonly #session: SessionStateMachine;
  readonly #waiting: Entry<H>[] = [];
  readonly #inFlight: Entry<H>[] = [];
  #pipelining = false;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#session = new SessionStateMachine({ tlsActive: options.tlsActive ?? false });
  }

  get state(): SessionState {
    return this.#session.state;
  }

  get quitSent(): boolean {
    return this.#session.quitSent;
  }

  get tlsActive(): boolean {
    return this.#session.tlsActive;
  }

  /** Throws Pop3UsageError when `command` must not be sent now; `submit` checks the same. */
  assertAllowed(command: StateGatedCommand): void {
    this.#session.assertAllowed(command);
  }

  /** Whether pipelinable commands may be sent without waiting (set once the server advertises PIPELINING). */
  set pipelining(on: boolean) {
    this.#pipelining = on;
  }

  /** Replies in flight, oldest first (the one the next bytes belong to comes first). */
  get inFlight(): readonly { readonly command: Pop3Command<unknown>; readonly handle: H }[] {
    return this.#inFlight;
  }

  /** The command the next reply belongs to, or the next one to be sent. */
  get pending(): Pop3Command<unknown> | undefined {
    return (this.#inFlight[0] ?? this.#waiting[0])?.command;
  }

  /**
   * Queues a command; `takeWrites` sends it when the window rule allows. Throws Pop3UsageError, and
   * queues nothing, when the session state forbids it (after QUIT, RETR before login, a second STLS).
   */
  submit(command: Pop3Command<unknown>, handle: H): void {
    this.#session.onCommand(command);
    this.#waiting.push({ command, handle, status: undefined, reader: undefined });
  }

  /**
   * Moves every queued command the window rule allows in flight, announcing its reply to the decoder,
   * and returns their lines to write, in order (the greeting has none).
   */
  takeWrites(): Buffer[] {
    const lines: Buffer[] = [];
    while (this.#waiting.length > 0 && this.#maySend(this.#waiting[0]!.command)) {
      const entry = this.#waiting.shift()!;
      const { command } = entry;
      this.#decoder.expect(
        command.shape,
        command.bodyMode === 'collect'
          ? {
              ...command.expectOptions,
              maxBodyOctets: Math.min(
                command.expectOptions.maxBodyOctets ?? Number.POSITIVE_INFINITY,
                this.#options.maxListingOctets ?? DEFAULT_MAX_LISTING_OCTETS,
              ),
            }
          : command.expectOptions,
      );
      entry.reader = command.readBody?.({
        maxListingEntries: this.#options.maxListingEntries ?? DEFAULT_MAX_LISTING_ENTRIES,
      });
      this.#inFlight.push(entry);
      if (command.line.length > 0) lines.push(command.line);
    }
    return lines;
  }

  /**
   * Bytes from the server. Throws when the session cannot go on (a reply nobody asked for, a broken
   * reply, a bad line in a listing): the connection must then be dropped.
   */
  receive(chunk: Buffer): ConnectionEvent<H>[] {
    const out: ConnectionEvent<H>[] = [];
    for (const event of this.#decoder.push(chunk)) {
      const entry = this.#inFlight[0];
      if (entry === undefined) throw new Error('reply event without a command in flight'); // decoder guarantees one
      if (event.type === 'status') {
        entry.status = event.status;
      } else if (event.type === 'data') {
        if (entry.command.bodyMode === 'stream')
          out.push({ type: 'data', handle: entry.handle, chunk: event.chunk });
        else entry.reader?.push(event.chunk);
      } else {
        this.#inFlight.shift();
        out.push(this.#complete(entry));
      }
    }
    return out;
  }

  /** After +OK to STLS and the handshake: returns the octets received before it, which were dropped. */
  resumeAfterTls(): number {
    const discarded = this.#decoder.discardedAfterTls;
    this.#decoder.resumeAfterTls();
    return discarded;
  }

  /** The server closed. Throws when it did so in the middle of a reply. */
  closed(): void {
    this.#decoder.end();
  }

  /** Every handle still waiting for a reply, in flight first; the connection keeps none. */
  drain(): H[] {
    return [...this.#inFlight.splice(0), ...this.#waiting.splice(0)].map((entry) => entry.handle);
  }

  #maySend(command: Pop3Command<unknown>): boolean {
    if (this.#inFlight.length === 0) return true;
    if (!this.#pipelining) return false;
    if (command.follows !== undefined) {
      return this.#inFlight.length === 1 && this.#inFlight[0]!.command.keyword === command.follows;
    }
    if (!command.pipelinable) return false;
    if (this.#inFlight.length >= this.#options.window) return false;
    return this.#inFlight.every((entry) => entry.command.pipelinable);
  }

  #complete(entry: Entry<H>): ConnectionEvent<H> {
    const { command, status, handle } = entry;
    if (!status) throw new Error('reply ended without a status line'); // decoder guarantees a status first
    this.#session.onReply(command, status);
    if (status.kind === '-ERR') {
      const ErrorClass = AUTH_KEYWORDS.has(command.keyword) ? Pop3AuthenticationError : Pop3ServerError;
      return {
        type: 'failed',
        handle,
        error: new ErrorClass(status.text, { server: this.#options.server, command: command.keyword }),
      };
    }
    try {
      const value = entry.reader ? entry.reader.end() : command.parse(status, undefined);
      return { type: 'reply', handle, status, value };
    } catch (error) {
      return { type: 'failed', handle, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
}
