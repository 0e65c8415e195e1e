/**
 * The request-rate cap of a replay: every S3 and SQS request waits for its turn, at most `perSecond`
 * started in any second on average. A replay reads every object of a range; unpaced, it would spend the
 * bucket's request rate (S3: 5,500 GET/HEAD per second per prefix) and the queue's consumers' capacity
 * at once, next to the live ingestion that shares them.
 */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class RequestPacer {
  readonly #intervalMs: number;
  readonly #clock: PacerClock;
  #next = Number.NEGATIVE_INFINITY;

  constructor(perSecond: number, clock: PacerClock = realClock) {
    if (!(perSecond > 0)) throw new RangeError(`perSecond must be above 0, got ${perSecond}`);
    this.#intervalMs = 1000 / perSecond;
    this.#clock = clock;
  }

  /** Resolves when the next request may start; turns are handed out in call order. */
  async turn(): Promise<void> {
    const now = this.#clock.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#intervalMs;
    if (at > now) await this.#clock.sleep(at - now);
  }
}
