/**
 * The conversation with one server, as I/O around the sans-I/O Pop3Connection (lib/pop3/connection.ts):
 * writes the lines it releases, feeds it every byte read, and settles each command's promise or stream
 * with the events it returns. The queue of replies in flight, the pipelining window rule, the -ERR
 * mapping and the session state live in Pop3Connection; the socket, the batching of writes, flow control
 * and the settling of replies live here. When to give up on a silent or trickling server is decided in
 * server-watch.ts, and what the trace may show in conversation-trace.ts: this file only tells them what
 * passed.
 *
 * Writes never wait for reads (Node buffers them), so a server that stops reading while its own send
 * buffer is full cannot deadlock us.
 */

import type { Deadline } from '../deadline.ts';
import type { Pop3Command } from '../pop3/commands.ts';
import { type ConnectionEvent, GREETING, Pop3Connection } from '../pop3/connection.ts';
import { Pop3ConnectionError, Pop3Error, Pop3ProtocolError, Pop3UsageError } from '../pop3/errors.ts';
import type { StatusLine } from '../pop3/reply-decoder.ts';
import type { SessionView } from '../pop3/session-state.ts';
import { ConversationTrace } from './conversation-trace.ts';
import { FlowControl, type MessageStream } from './message-stream.ts';
import type { TraceListener } from './options.ts';
import type { ReplyPace } from './reply-clock.ts';
import { ServerWatch } from './server-watch.ts';
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
  /** Minimum pace of a reply (see ReplyClock, server-watch.ts). @default no limit */
  readonly pace?: ReplyPace;
  /** Each command's redacted display, each status line, each body by size (conversation-trace.ts). */
  readonly onTrace?: TraceListener | undefined;
}

export class Conversation {
  readonly server: string;
  readonly flow: FlowControl;
  readonly #transport: Transport;
  readonly #connection: Pop3Connection<Exchange>;
  readonly #watch: ServerWatch;
  /** Command lines whose replies are expected, not yet handed to the socket. */
  readonly #unwritten: Buffer[] = [];
  #writeScheduled = false;
  #failure: Error | undefined;
  readonly #trace: ConversationTrace | undefined;

  constructor(transport: Transport, options: ConversationOptions) {
    this.#transport = transport;
    this.server = transport.label;
    this.#connection = new Pop3Connection({
      server: this.server,
      window: options.window,
      ...(options.maxListingOctets === undefined ? {} : { maxListingOctets: options.maxListingOctets }),
      ...(options.maxListingEntries === undefined ? {} : { maxListingEntries: options.maxListingEntries }),
      tlsActive: transport.encrypted,
    });
    this.#trace = options.onTrace ? new ConversationTrace(options.onTrace) : undefined;
    this.flow = new FlowControl(
      () => {
        transport.pause();
        this.#watch.paused();
      },
      () => {
        transport.resume();
        this.#watch.resumed();
      },
    );
    const { idleTimeoutMs, deadline, pace } = options;
    this.#watch = new ServerWatch(
      { server: this.server, idleTimeoutMs, deadline, pace },
      {
        awaiting: () => this.#connection.inFlight[0]?.command,
        holdingBack: () => this.flow.paused,
        fail: (error) => this.fail(error),
      },
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
    const greeted = this.#watch.greeting(timeoutMs);
    return this.send(GREETING)
      .finally(greeted)
      .then((reply) => reply.status);
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
    this.#watch.stop();
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
    this.#watch.stop();
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
    this.#trace?.sent(this.#connection.inFlight.slice(before));
    if (lines.length === 0 && this.#connection.inFlight.length === 0) return;
    if (idle && this.#connection.inFlight.length > 0) this.#watch.replyStarted();
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
    this.#watch.activity();
    this.#transport.write(lines.length === 1 ? lines[0]! : Buffer.concat(lines));
  }

  #onData(chunk: Buffer): void {
    this.#watch.activity();
    let events: ConnectionEvent<Exchange>[];
    try {
      events = this.#connection.receive(chunk);
    } catch (error) {
      this.fail(this.#annotate(error, this.#connection.pending));
      return;
    }
    this.#watch.received(chunk.length);
    for (const event of events) {
      if (this.#failure) return;
      this.#settle(event);
    }
    this.#pump();
    this.#watch.checkPace();
  }

  #settle(event: ConnectionEvent<Exchange>): void {
    const exchange = event.handle;
    if (event.type === 'data') {
      this.#trace?.body(event.chunk.length);
      exchange.stream?.deliver(event.chunk);
      return;
    }
    this.#watch.replyStarted();
    this.#trace?.replied(event);
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
