/**
 * The conversation with one server, as I/O around the sans-I/O Pop3Connection (lib/pop3/connection.ts):
 * writes the lines it releases, feeds it every byte read, and settles each command's promise or stream
 * with the events it returns. The queue of replies in flight, the pipelining window rule and the -ERR
 * mapping live in Pop3Connection; the socket, timers, the reply pace and flow control live here.
 *
 * Writes never wait for reads (Node buffers them), so a server that stops reading while its own send
 * buffer is full cannot deadlock us.
 */

import type { Deadline } from '../deadline.ts';
import type { Pop3Command } from '../pop3/commands.ts';
import { type ConnectionEvent, GREETING, Pop3Connection } from '../pop3/connection.ts';
import {
  Pop3ConnectionError,
  Pop3Error,
  Pop3ProtocolError,
  Pop3ServerError,
  Pop3TimeoutError,
  Pop3UsageError,
} from '../pop3/errors.ts';
import type { StatusLine } from '../pop3/reply-decoder.ts';
import type { SessionView } from '../pop3/session-state.ts';
import { FlowControl, type MessageStream } from './message-stream.ts';
import type { TraceListener } from './options.ts';
import { ReplyClock, type ReplyPace } from './reply-clock.ts';
import type { Transport } from './transport.ts';

export interface Reply<T> {
  readonly status: StatusLine;
  readonly value: T;
}

/** What waits for one command's reply: its promise, and for RETR/TOP the stream its body goes to. */
interface Exchange {
  readonly command: Pop3Command<unknown>;
  readonly stream: MessageStream | undefined;
  readonly resolve: (reply: Reply<unknown>) => void;
  readonly reject: (error: Error) => void;
  /** Whether this command's failure ends the whole conversation, before any later reply is read. */
  readonly failsSession: ((error: Error) => boolean) | undefined;
}

export interface ConversationOptions {
  readonly idleTimeoutMs: number;
  readonly deadline: Deadline;
  readonly window: number;
  readonly maxListingOctets?: number;
  /** Entries a LIST or UIDL listing keeps. @default DEFAULT_MAX_LISTING_ENTRIES */
  readonly maxListingEntries?: number;
  /** Minimum pace of a reply (see ReplyClock). @default no limit */
  readonly pace?: ReplyPace;
  /** Each command's redacted display, each status line, each body by size: never a secret or message text. */
  readonly onTrace?: TraceListener | undefined;
}

export class Conversation {
  readonly server: string;
  readonly flow: FlowControl;
  readonly #transport: Transport;
  readonly #connection: Pop3Connection<Exchange>;
  readonly #options: ConversationOptions;
  readonly #idleTimer: NodeJS.Timeout;
  readonly #deadlineTimer: NodeJS.Timeout;
  /** Command lines whose replies are expected, not yet handed to the socket. */
  readonly #unwritten: Buffer[] = [];
  #writeScheduled = false;
  #failure: Error | undefined;
  readonly #clock: ReplyClock | undefined;
  /** Octets of the body of the reply being read, for the trace. */
  #bodyOctets = 0;

  constructor(transport: Transport, options: ConversationOptions) {
    this.#transport = transport;
    this.server = transport.label;
    this.#options = options;
    this.#connection = new Pop3Connection({
      server: this.server,
      window: options.window,
      ...(options.maxListingOctets === undefined ? {} : { maxListingOctets: options.maxListingOctets }),
      ...(options.maxListingEntries === undefined ? {} : { maxListingEntries: options.maxListingEntries }),
      tlsActive: transport.encrypted,
    });
    this.#clock = options.pace ? new ReplyClock(options.pace) : undefined;
    this.flow = new FlowControl(
      () => {
        transport.pause();
        this.#clock?.paused();
      },
      () => {
        transport.resume();
        this.#clock?.resumed();
        this.#idleTimer.refresh();
      },
    );
    this.#idleTimer = setTimeout(() => this.#onIdle(), options.idleTimeoutMs);
    this.#deadlineTimer = setTimeout(
      () =>
        this.fail(
          new Pop3TimeoutError(`deadline reached while talking to ${this.server}`, {
            phase: 'deadline',
            server: this.server,
          }),
        ),
      Math.min(options.deadline.remainingMs(), 2 ** 31 - 1),
    );
    transport.start({
      data: (chunk) => this.#onData(chunk),
      closed: (error) => this.#onClosed(error),
    });
  }

  /** Whether pipelinable commands may be sent without waiting (set once the server advertises PIPELINING). */
  set pipelining(on: boolean) {
    this.#connection.pipelining = on;
  }

  /** The session state, owned and advanced by the connection as commands and replies pass: read only. */
  get session(): SessionView {
    return this.#connection;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /** No command is waiting for its reply or for its turn: a command sent now is written at once. */
  get idle(): boolean {
    return this.#connection.pending === undefined;
  }

  /** Waits for the server greeting (a reply nobody asked for, expected first). */
  greeting(timeoutMs: number): Promise<StatusLine> {
    const timer = setTimeout(
      () =>
        this.fail(
          new Pop3TimeoutError(`no greeting from ${this.server} within ${timeoutMs} ms`, {
            phase: 'greeting',
            server: this.server,
          }),
        ),
      timeoutMs,
    );
    return this.send(GREETING).then(
      (reply) => {
        clearTimeout(timer);
        return reply.status;
      },
      (error: unknown) => {
        clearTimeout(timer);
        throw error;
      },
    );
  }

  /**
   * Queues a command; resolves with its +OK reply, rejects with Pop3ServerError on -ERR. `failsSession`:
   * a failure it accepts also fails every command sent after this one, with the same error (a command
   * whose failure means the session cannot go on, sent without waiting for its reply).
   */
  send<T>(
    command: Pop3Command<T>,
    stream?: MessageStream,
    failsSession?: (error: Error) => boolean,
  ): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      const exchange = { command, stream, resolve: resolve as Exchange['resolve'], reject, failsSession };
      try {
        // The session state sees every command, even one a failed conversation will not send: a QUIT
        // still ends the session. A command the state forbids is refused here, before any byte leaves.
        this.#connection.submit(command, exchange);
      } catch (error) {
        const refused = error instanceof Error ? error : new Error(String(error));
        stream?.abort(refused); // the stream carries the outcome for RETR/TOP: it must end or fail
        reject(refused);
        return;
      }
      if (this.#failure) this.#rejectAll(this.#failure);
      else this.#pump();
    });
  }

  /** After +OK to STLS: swap in TLS. Bytes read before the handshake are thrown away by the decoder. */
  async upgradeToTls(run: () => Promise<void>): Promise<number> {
    await run();
    return this.#connection.resumeAfterTls();
  }

  /** Ends the conversation: every pending command and stream fails with `error`; the socket is destroyed. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#stopTimers();
    this.#rejectAll(error);
    this.#transport.destroy();
  }

  /** Every command the connection still holds fails with `error`, its stream too (else it never ends). */
  #rejectAll(error: Error): void {
    for (const exchange of this.#connection.drain()) {
      exchange.stream?.abort(error);
      exchange.reject(error);
    }
  }

  /** Closes politely (after QUIT) or not; no further commands are accepted. */
  close(): void {
    this.#stopTimers();
    this.#flushWrites();
    if (!this.#failure)
      this.#failure = new Pop3UsageError(`the connection to ${this.server} was closed by the client`);
    this.#transport.end();
    setTimeout(() => this.#transport.destroy(), 1000).unref();
  }

  #pump(): void {
    const before = this.#connection.inFlight.length;
    const idle = before === 0;
    const lines = this.#connection.takeWrites();
    if (this.#options.onTrace) {
      for (const { command } of this.#connection.inFlight.slice(before)) {
        if (command.line.length > 0) this.#options.onTrace('C', command.display);
      }
    }
    if (lines.length === 0 && this.#connection.inFlight.length === 0) return;
    if (idle && this.#connection.inFlight.length > 0) this.#clock?.restart();
    this.#unwritten.push(...lines);
    if (this.#unwritten.length > 0 && !this.#writeScheduled) {
      // Commands issued in the same turn of the event loop (a batch of DELEs) leave in one write.
      this.#writeScheduled = true;
      queueMicrotask(() => this.#flushWrites());
    }
  }

  #flushWrites(): void {
    this.#writeScheduled = false;
    const lines = this.#unwritten.splice(0);
    if (lines.length === 0 || this.#failure) return;
    this.#idleTimer.refresh();
    this.#transport.write(lines.length === 1 ? lines[0]! : Buffer.concat(lines));
  }

  #onData(chunk: Buffer): void {
    this.#idleTimer.refresh();
    let events: ConnectionEvent<Exchange>[];
    try {
      events = this.#connection.receive(chunk);
    } catch (error) {
      this.fail(this.#annotate(error, this.#connection.pending));
      return;
    }
    this.#clock?.received(chunk.length);
    for (const event of events) {
      if (this.#failure) return;
      this.#settle(event);
    }
    this.#pump();
    if (this.#connection.inFlight.length > 0) this.#checkPace();
  }

  /** A server that keeps sending, but too slowly to ever finish, fails like a silent one. */
  #checkPace(): void {
    const late = this.#clock?.overdue();
    if (!late || !this.#options.pace) return;
    const { replyMs, minBytesPerSecond } = this.#options.pace;
    const waitingFor = this.#connection.inFlight[0]!.command;
    this.fail(
      new Pop3TimeoutError(
        `${this.server} took ${late.elapsedMs} ms to send ${late.received} octets of the reply to ` +
          `${waitingFor.display}; a reply may take ${replyMs} ms plus 1 s per ${minBytesPerSecond} octets`,
        { phase: 'slow', server: this.server, command: waitingFor.keyword },
      ),
    );
  }

  #settle(event: ConnectionEvent<Exchange>): void {
    const exchange = event.handle;
    if (event.type === 'data') {
      this.#bodyOctets += event.chunk.length;
      exchange.stream?.deliver(event.chunk);
      return;
    }
    this.#clock?.restart();
    this.#trace(event);
    if (event.type === 'failed') {
      const error = this.#annotate(event.error, exchange.command);
      exchange.stream?.abort(error);
      exchange.reject(error);
      if (exchange.failsSession?.(error)) this.fail(error);
    } else {
      exchange.stream?.finish();
      exchange.resolve({ status: event.status, value: event.value });
    }
  }

  /** The server's side of the trace: each status line, and a streamed body by its size only. */
  #trace(event: ConnectionEvent<Exchange>): void {
    const trace = this.#options.onTrace;
    const octets = this.#bodyOctets;
    this.#bodyOctets = 0;
    if (!trace || event.type === 'data') return;
    const { command } = event.handle;
    if (event.type === 'failed') {
      const error = event.error;
      trace('S', error instanceof Pop3ServerError ? `-ERR ${error.serverText}` : `(${error.name})`);
      return;
    }
    trace('S', traceStatus(event.status));
    // CAPA's lines decide how the session goes (SASL, PIPELINING, STLS, EXPIRE): shown whole, as parsed.
    if (command.keyword === 'CAPA') for (const line of capabilityLines(event.value)) trace('S', line);
    if (command.shape === 'multiline' && event.status.kind === '+OK' && command.bodyMode !== 'collect') {
      trace('S', `(${octets} octets of ${command.keyword} body)`);
    }
  }

  #onIdle(): void {
    const waiting = this.#connection.inFlight[0]?.command;
    if (waiting === undefined || this.flow.paused) {
      this.#idleTimer.refresh();
      return;
    }
    this.fail(
      new Pop3TimeoutError(
        `${this.server} sent nothing for ${this.#options.idleTimeoutMs} ms while we waited for the reply to ${waiting.display}`,
        { phase: 'idle', server: this.server, command: waiting.keyword },
      ),
    );
  }

  #onClosed(error: Error | undefined): void {
    if (this.#failure) return;
    try {
      this.#connection.closed();
    } catch (decoderError) {
      this.fail(this.#annotate(decoderError));
      return;
    }
    const pending = this.#connection.pending;
    const what = pending ? ` while waiting for the reply to ${pending.display}` : '';
    this.fail(
      error ??
        new Pop3ConnectionError(`${this.server} closed the connection${what}`, {
          server: this.server,
          command: pending?.keyword,
        }),
    );
  }

  #stopTimers(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#deadlineTimer);
  }

  /** Names the server (and command) in errors raised by the decoder or a parser, keeping their class. */
  #annotate(error: unknown, command?: Pop3Command<unknown>): Error {
    if (error instanceof Pop3Error && error.server !== undefined) return error;
    const message = error instanceof Error ? error.message : String(error);
    const about = command ? ` (reply to ${command.display})` : '';
    const options = { cause: error, server: this.server, command: command?.keyword };
    if (error instanceof Pop3ConnectionError)
      return new Pop3ConnectionError(`${this.server}: ${message}`, options);
    if (error instanceof Pop3Error && !(error instanceof Pop3ProtocolError)) return error;
    return new Pop3ProtocolError(`${this.server}: ${message}${about}`, options);
  }
}

function traceStatus(status: StatusLine): string {
  if (status.kind === '+') return `+ (${status.text.length} octets of challenge)`;
  return status.text === '' ? status.kind : `${status.kind} ${status.text}`;
}

/** "SASL PLAIN XOAUTH2", "PIPELINING", … from a parsed CAPA reply (keywords upper-cased). */
function capabilityLines(value: unknown): string[] {
  const raw = (value as { raw?: unknown } | undefined)?.raw;
  if (!(raw instanceof Map)) return [];
  return [...(raw as Map<string, readonly string[]>)].map(([keyword, args]) => [keyword, ...args].join(' '));
}
