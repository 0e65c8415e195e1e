/**
 * Times the reply at the head of the conversation against a minimum rate, so a server that trickles
 * (a byte a second keeps the idle timeout happy forever) cannot hold a run. A reply may take `replyMs`,
 * plus one second for every `minBytesPerSecond` octets it has delivered: slow big messages on a slow link
 * pass, a trickle does not. Time during which WE hold the server back (backpressure) is not counted.
 */
export interface ReplyPace {
  readonly replyMs: number;
  readonly minBytesPerSecond: number;
}

export class ReplyClock {
  readonly #pace: ReplyPace;
  readonly #now: () => number;
  #startedAt: number;
  #received = 0;
  #pausedTotal = 0;
  #pausedAtStart = 0;
  #pausedSince: number | undefined;

  constructor(pace: ReplyPace, now: () => number = () => performance.now()) {
    this.#pace = pace;
    this.#now = now;
    this.#startedAt = now();
  }

  /** A new reply is now the one awaited (the previous one ended, or a command went out to an idle line). */
  restart(): void {
    this.#startedAt = this.#now();
    this.#received = 0;
    this.#pausedAtStart = this.#pausedNow();
  }

  received(octets: number): void {
    this.#received += octets;
  }

  paused(): void {
    this.#pausedSince ??= this.#now();
  }

  resumed(): void {
    if (this.#pausedSince === undefined) return;
    this.#pausedTotal += this.#now() - this.#pausedSince;
    this.#pausedSince = undefined;
  }

  /** When the reply is behind the minimum pace: how long it has taken and how much came. */
  overdue(): { readonly elapsedMs: number; readonly received: number } | undefined {
    const elapsedMs = this.#now() - this.#startedAt - (this.#pausedNow() - this.#pausedAtStart);
    const earnedMs = this.#pace.replyMs + (this.#received * 1000) / this.#pace.minBytesPerSecond;
    return elapsedMs > earnedMs ? { elapsedMs: Math.round(elapsedMs), received: this.#received } : undefined;
  }

  #pausedNow(): number {
    return this.#pausedTotal + (this.#pausedSince === undefined ? 0 : this.#now() - this.#pausedSince);
  }
}
