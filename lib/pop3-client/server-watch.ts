/**
 * When the conversation gives up on a server: every Pop3TimeoutError it raises, each with its phase.
 *   - greeting: no greeting within the greeting timeout (RFC 1939 §4: the server speaks first);
 *   - idle: silence while a reply is awaited, unless WE hold the server back (backpressure);
 *   - slow: a reply behind the minimum pace (reply-clock.ts), the trickle the idle timeout never sees;
 *   - deadline: the run's Deadline is reached, whatever is going on.
 * The conversation (conversation.ts) reports what happens on the line; this file decides when that is
 * too little, and fails the conversation through the one callback it is given.
 */
import type { Deadline } from '../deadline.ts';
import type { Pop3Command } from '../pop3/commands.ts';
import { Pop3TimeoutError } from '../pop3/errors.ts';
import { ReplyClock, type ReplyPace } from './reply-clock.ts';

export interface WatchOptions {
  /** "host:port", named in the errors. */
  readonly server: string;
  readonly idleTimeoutMs: number;
  readonly deadline: Deadline;
  /** Minimum pace of a reply. @default no limit */
  readonly pace?: ReplyPace | undefined;
}

/** What the watch reads of the conversation, and how it ends it. */
export interface Watched {
  /** The command whose reply is awaited now, if any. */
  awaiting(): Pop3Command<unknown> | undefined;
  /** We hold the server back (backpressure): the silence is ours. */
  holdingBack(): boolean;
  fail(error: Pop3TimeoutError): void;
}

export class ServerWatch {
  readonly #options: WatchOptions;
  readonly #watched: Watched;
  readonly #clock: ReplyClock | undefined;
  readonly #idleTimer: NodeJS.Timeout;
  readonly #deadlineTimer: NodeJS.Timeout;

  constructor(options: WatchOptions, watched: Watched) {
    this.#options = options;
    this.#watched = watched;
    this.#clock = options.pace ? new ReplyClock(options.pace) : undefined;
    this.#idleTimer = setTimeout(() => this.#onIdle(), options.idleTimeoutMs);
    this.#deadlineTimer = setTimeout(
      () =>
        watched.fail(
          new Pop3TimeoutError(`deadline reached while talking to ${options.server}`, {
            phase: 'deadline',
            server: options.server,
          }),
        ),
      Math.min(options.deadline.remainingMs(), 2 ** 31 - 1),
    );
  }

  /** Fails the conversation unless the greeting came within `timeoutMs`; call the result when it did. */
  greeting(timeoutMs: number): () => void {
    const { server } = this.#options;
    const timer = setTimeout(
      () =>
        this.#watched.fail(
          new Pop3TimeoutError(`no greeting from ${server} within ${timeoutMs} ms`, {
            phase: 'greeting',
            server,
          }),
        ),
      timeoutMs,
    );
    return () => clearTimeout(timer);
  }

  /** Bytes went out or came in: the line is alive. */
  activity(): void {
    this.#idleTimer.refresh();
  }

  /** A new reply is now the one awaited (the previous one ended, or a command went out to an idle line). */
  replyStarted(): void {
    this.#clock?.restart();
  }

  received(octets: number): void {
    this.#clock?.received(octets);
  }

  /** We stopped reading (backpressure): the time until `resumed` is not the server's. */
  paused(): void {
    this.#clock?.paused();
  }

  resumed(): void {
    this.#clock?.resumed();
    this.#idleTimer.refresh();
  }

  /** A server that keeps sending, but too slowly to ever finish, fails like a silent one. */
  checkPace(): void {
    const late = this.#clock?.overdue();
    const waitingFor = this.#watched.awaiting();
    if (!late || !this.#options.pace || waitingFor === undefined) return;
    const { replyMs, minBytesPerSecond } = this.#options.pace;
    this.#watched.fail(
      new Pop3TimeoutError(
        `${this.#options.server} took ${late.elapsedMs} ms to send ${late.received} octets of the reply to ` +
          `${waitingFor.display}; a reply may take ${replyMs} ms plus 1 s per ${minBytesPerSecond} octets`,
        { phase: 'slow', server: this.#options.server, command: waitingFor.keyword },
      ),
    );
  }

  stop(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#deadlineTimer);
  }

  #onIdle(): void {
    const waiting = this.#watched.awaiting();
    if (waiting === undefined || this.#watched.holdingBack()) {
      this.#idleTimer.refresh();
      return;
    }
    const { server, idleTimeoutMs } = this.#options;
    this.#watched.fail(
      new Pop3TimeoutError(
        `${server} sent nothing for ${idleTimeoutMs} ms while we waited for the reply to ${waiting.display}`,
        { phase: 'idle', server, command: waiting.keyword },
      ),
    );
  }
}
