/**
 * One deadline per invocation. The Lambda handler builds it from
 * `context.getRemainingTimeInMillis()`, the CLI from a flag; every timeout below it (connect, greeting,
 * idle read, upload) is capped by what is left here, so nothing can outlive the invocation.
 */
import { setMaxListeners } from 'node:events';

export interface MonotonicClock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonicMs(): number;
}

export const systemMonotonicClock: MonotonicClock = { monotonicMs: () => performance.now() };

/**
 * Abort listeners the deadline's signal may hold before Node warns of a leak (its default is 10). Every
 * S3, SQS or token request in flight under one deadline adds one while it runs (the SDK's HTTP handler,
 * our multipart reader): up to 64 messages in flight per mailbox (DEFAULT_MAX_IN_FLIGHT_MESSAGES) times
 * the mailboxes polled at once (a Lambda batch of 10, the CLI's workers), plus notification batches. This
 * bound leaves room for that, and still warns when listeners are not removed: a leak adds one per request,
 * which passes it within a few thousand messages.
 */
export const DEADLINE_SIGNAL_MAX_LISTENERS = 2048;

/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The reason a deadline's signal aborts with: the call was abandoned because the run's time is up. */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

export class Deadline {
  readonly #endsAt: number;
  readonly #clock: MonotonicClock;
  #signal: AbortSignal | undefined;

  private constructor(endsAt: number, clock: MonotonicClock) {
    this.#endsAt = endsAt;
    this.#clock = clock;
  }

  /** A deadline `ms` from now. */
  static after(ms: number, clock: MonotonicClock = systemMonotonicClock): Deadline {
    return new Deadline(clock.monotonicMs() + Math.max(0, ms), clock);
  }

  /** A deadline that never expires (tests, interactive use). */
  static never(): Deadline {
    return new Deadline(Number.POSITIVE_INFINITY, systemMonotonicClock);
  }

  remainingMs(): number {
    return Math.max(0, this.#endsAt - this.#clock.monotonicMs());
  }

  get expired(): boolean {
    return this.remainingMs() <= 0;
  }

  /** The smaller of `ms` and what is left: the budget for one step that must not outlive the deadline. */
  cap(ms: number): number {
    return Math.min(ms, this.remainingMs());
  }

  /**
   * Aborts when the deadline passes, with a DeadlineExceededError: hand it to calls that take an
   * AbortSignal (AWS SDK `abortSignal`), so a slow S3 or SQS call near the end is abandoned instead of
   * running past the invocation. One signal per deadline; its timer never keeps the process alive and
   * checks this deadline's clock before it aborts. A deadline further away than setTimeout can wait
   * (about 24.8 days), or never, gives a signal that never aborts.
   */
  signal(): AbortSignal {
    if (this.#signal !== undefined) return this.#signal;
    const remaining = this.remainingMs();
    const reason = () => new DeadlineExceededError("the run's deadline passed; the call was abandoned");
    if (remaining <= 0) {
      this.#signal = AbortSignal.abort(reason());
    } else {
      const controller = new AbortController();
      // A timer may fire a little early by this clock: wait out the rest, so `expired` agrees with the signal.
      const abortWhenExpired = () => {
        const left = this.remainingMs();
        if (left <= 0) controller.abort(reason());
        else setTimeout(abortWhenExpired, Math.ceil(left)).unref();
      };
      if (remaining <= MAX_TIMER_MS) setTimeout(abortWhenExpired, Math.ceil(remaining)).unref();
      setMaxListeners(DEADLINE_SIGNAL_MAX_LISTENERS, controller.signal);
      this.#signal = controller.signal;
    }
    return this.#signal;
  }

  /** A deadline `reserveMs` earlier than this one: "stop starting new work while this much is left". */
  reserving(reserveMs: number): Deadline {
    return new Deadline(this.#endsAt - reserveMs, this.#clock);
  }
}
