/**
 * One deadline per invocation. The Lambda handler builds it from
 * `context.getRemainingTimeInMillis()`, the CLI from a flag; every timeout below it (connect, greeting,
 * idle read, upload) is capped by what is left here, so nothing can outlive the invocation.
 */
export interface MonotonicClock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  monotonicMs(): number;
}

export const systemMonotonicClock: MonotonicClock = { monotonicMs: () => performance.now() };

export class Deadline {
  readonly #endsAt: number;
  readonly #clock: MonotonicClock;

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

  /** A deadline `reserveMs` earlier than this one: "stop starting new work while this much is left". */
  reserving(reserveMs: number): Deadline {
    return new Deadline(this.#endsAt - reserveMs, this.#clock);
  }
}
