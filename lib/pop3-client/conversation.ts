/**
 * The conversation with one server: writes commands, feeds every byte read to the sans-I/O decoder and
 * routes each decoded reply to the command that asked for it, in order.
 *
 * Pipelining (RFC 2449 §6.6): up to `window` pipelinable commands are in flight at once. Writes never wait
 * for reads (Node buffers them), so a server that stops reading while its own send buffer is full cannot
 * deadlock us. Commands that change the connection or the session (STLS, AUTH, USER/PASS/APOP, QUIT) are
 * only sent when nothing else is in flight, and nothing follows them until their reply is in.
 */

import type { Deadline } from '../deadline.ts';
import type { BodyReader } from '../pop3/body-lines.ts';
import type { Pop3Command } from '../pop3/commands.ts';
import {
  Pop3AuthenticationError,
  Pop3ConnectionError,
  Pop3Error,
  Pop3ProtocolError,
  Pop3ServerError,
  Pop3TimeoutError,
  Pop3UsageError,
} from '../pop3/errors.ts';
import { DEFAULT_MAX_LISTING_ENTRIES, DEFAULT_MAX_LISTING_OCTETS } from '../pop3/limits.ts';
import { ReplyDecoder, type ReplyEvent, type StatusLine } from '../pop3/reply-decoder.ts';
import { FlowControl, type MessageStream } from './message-stream.ts';
import type { TraceListener } from './options.ts';
import { ReplyClock, type ReplyPace } from './reply-clock.ts';
import type { Transport } from './transport.ts';

export interface Reply<T> {
  readonly status: StatusLine;
  readonly value: T;
}

interface Exchange {
  readonly command: Pop3Command<unknown>;
  readonly stream: MessageStream | undefined;
  readonly resolve: (reply: Reply<unknown>) => void;
  readonly reject: (error: Error) => void;
  status: StatusLine | undefined;
  /** Reads a collected body line by line as it arrives; nothing of it is buffered whole. */
  reader: BodyReader<unknown> | undefined;
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

const AUTH_KEYWORDS = new Set(['USER', 'PASS', 'APOP', 'AUTH', '*SASL']);

export class Conversation {
  readonly server: string;
  readonly flow: FlowControl;
  readonly #transport: Transport;
  readonly #decoder = new ReplyDecoder();
  readonly #options: ConversationOptions;
  readonly #waiting: Exchange[] = [];
  readonly #inFlight: Exchange[] = [];
  readonly #idleTimer: NodeJS.Timeout;
  readonly #deadlineTimer: NodeJS.Timeout;
  #pipelining = false;
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
    this.#pipelining = on;
  }

  get failure(): Error | undefined {
    return this.#failure;
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
    const greeting: Pop3Command<void> = {
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
    return this.send(greeting).then(
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

  /** Queues a command; resolves with its +OK reply, rejects with Pop3ServerError on -ERR. */
  send<T>(command: Pop3Command<T>, stream?: MessageStream): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      if (this.#failure) {
        // The stream carries the outcome for RETR/TOP; left alone it would never end nor fail.
        stream?.abort(this.#failure);
        reject(this.#failure);
        return;
      }
      this.#waiting.push({
        command,
        stream,
        resolve: resolve as (reply: Reply<unknown>) => void,
        reject,
        status: undefined,
        reader: undefined,
      });
      this.#pump();
    });
  }

  /** After +OK to STLS: swap in TLS. Bytes read before the handshake are thrown away by the decoder. */
  async upgradeToTls(run: () => Promise<void>): Promise<number> {
    await run();
    const discarded = this.#decoder.discardedAfterTls;
    this.#decoder.resumeAfterTls();
    return discarded;
  }

  /** Ends the conversation: every pending command and stream fails with `error`; the socket is destroyed. */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#stopTimers();
    for (const exchange of [...this.#inFlight.splice(0), ...this.#waiting.splice(0)]) {
      exchange.stream?.abort(error);
      exchange.reject(error);
    }
    this.#transport.destroy();
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
    const lines = this.#unwritten;
    while (this.#waiting.length > 0) {
      const next = this.#waiting[0]!;
      if (!this.#maySend(next.command)) break;
      this.#waiting.shift();
      if (this.#inFlight.length === 0) this.#clock?.restart();
      const { command } = next;
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
      next.reader = command.readBody?.({
        maxListingEntries: this.#options.maxListingEntries ?? DEFAULT_MAX_LISTING_ENTRIES,
      });
      this.#inFlight.push(next);
      if (next.command.line.length > 0) {
        lines.push(next.command.line);
        this.#options.onTrace?.('C', command.display);
      }
    }
    if (lines.length > 0 && !this.#writeScheduled) {
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

  #maySend(command: Pop3Command<unknown>): boolean {
    if (this.#inFlight.length === 0) return true;
    if (!this.#pipelining || !command.pipelinable) return false;
    if (this.#inFlight.length >= this.#options.window) return false;
    return this.#inFlight.every((exchange) => exchange.command.pipelinable);
  }

  #onData(chunk: Buffer): void {
    this.#idleTimer.refresh();
    let events: ReplyEvent[];
    try {
      events = this.#decoder.push(chunk);
    } catch (error) {
      this.fail(this.#annotate(error));
      return;
    }
    this.#clock?.received(chunk.length);
    for (const event of events) {
      if (this.#failure) return;
      this.#route(event);
    }
    if (this.#inFlight.length > 0) this.#checkPace();
  }

  /** A server that keeps sending, but too slowly to ever finish, fails like a silent one. */
  #checkPace(): void {
    const late = this.#clock?.overdue();
    if (!late || !this.#options.pace) return;
    const { replyMs, minBytesPerSecond } = this.#options.pace;
    const waitingFor = this.#inFlight[0]!.command;
    this.fail(
      new Pop3TimeoutError(
        `${this.server} took ${late.elapsedMs} ms to send ${late.received} octets of the reply to ` +
          `${waitingFor.display}; a reply may take ${replyMs} ms plus 1 s per ${minBytesPerSecond} octets`,
        { phase: 'slow', server: this.server, command: waitingFor.keyword },
      ),
    );
  }

  #route(event: ReplyEvent): void {
    const exchange = this.#inFlight[0];
    if (!exchange) {
      this.fail(
        new Pop3ProtocolError(`${this.server} sent a reply nobody asked for`, { server: this.server }),
      );
      return;
    }
    if (event.type === 'status') {
      exchange.status = event.status;
      this.#bodyOctets = 0;
      this.#options.onTrace?.('S', traceStatus(event.status));
    } else if (event.type === 'data') {
      this.#bodyOctets += event.chunk.length;
      if (exchange.stream) {
        exchange.stream.deliver(event.chunk);
      } else if (exchange.reader) {
        try {
          exchange.reader.push(event.chunk);
        } catch (error) {
          // A bad line (too long, malformed): the rest of this reply may never end, so do not wait for it.
          this.fail(this.#annotate(error, exchange.command));
        }
      }
    } else {
      if (exchange.command.shape === 'multiline' && exchange.status?.kind === '+OK') {
        this.#options.onTrace?.('S', `(${this.#bodyOctets} octets of ${exchange.command.keyword} body)`);
      }
      this.#inFlight.shift();
      this.#clock?.restart();
      this.#complete(exchange);
      this.#pump();
    }
  }

  #complete(exchange: Exchange): void {
    const { command, status } = exchange;
    if (!status) throw new Error('reply ended without a status line'); // decoder guarantees a status first
    if (status.kind === '-ERR') {
      const ErrorClass = AUTH_KEYWORDS.has(command.keyword) ? Pop3AuthenticationError : Pop3ServerError;
      const error = new ErrorClass(status.text, { server: this.server, command: command.keyword });
      exchange.stream?.abort(error);
      exchange.reject(error);
      return;
    }
    try {
      const value = exchange.reader ? exchange.reader.end() : command.parse(status, undefined);
      exchange.stream?.finish();
      exchange.resolve({ status, value });
    } catch (error) {
      const annotated = this.#annotate(error, command);
      exchange.stream?.abort(annotated);
      exchange.reject(annotated);
    }
  }

  #onIdle(): void {
    if (this.#inFlight.length === 0 || this.flow.paused) {
      this.#idleTimer.refresh();
      return;
    }
    const waitingFor = this.#inFlight[0]!.command.display;
    this.fail(
      new Pop3TimeoutError(
        `${this.server} sent nothing for ${this.#options.idleTimeoutMs} ms while we waited for the reply to ${waitingFor}`,
        { phase: 'idle', server: this.server, command: this.#inFlight[0]!.command.keyword },
      ),
    );
  }

  #onClosed(error: Error | undefined): void {
    if (this.#failure) return;
    try {
      this.#decoder.end();
    } catch (decoderError) {
      this.fail(this.#annotate(decoderError));
      return;
    }
    const pending = this.#inFlight[0] ?? this.#waiting[0];
    const what = pending ? ` while waiting for the reply to ${pending.command.display}` : '';
    this.fail(
      error ??
        new Pop3ConnectionError(`${this.server} closed the connection${what}`, {
          server: this.server,
          command: pending?.command.keyword,
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

/** A SASL challenge may carry a server's nonce or error detail: shown only by size. */
function traceStatus(status: StatusLine): string {
  if (status.kind === '+') return `+ (${status.text.length} octets of challenge)`;
  return status.text === '' ? status.kind : `${status.kind} ${status.text}`;
}
