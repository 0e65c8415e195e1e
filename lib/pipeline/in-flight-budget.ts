/**
 * Bounds what is retrieved but not yet stored: at most `maxMessages` messages and `maxBytes` octets.
 *
 * Octets are charged as they ARRIVE, not as the server announced them: a message is admitted on its LIST
 * size (a reservation, so an honest listing never over-commits), and every octet received beyond that
 * size is charged too. The LIST size is the server's word; a server that lists messages of several MiB
 * as 1 octet each would otherwise have the whole window pipelined into memory at once.
 *
 * When the budget is spent, a message's byte stream waits (`charge` returns a promise) and its backpressure
 * reaches the socket, so the server's TCP window fills instead of our memory, until earlier messages are
 * stored and released. The OLDEST message in flight never waits: everything older is gone, so nothing it
 * could wait for would ever come. One message larger than the whole budget therefore still flows, alone,
 * through to the store, which streams it (multipart) instead of holding it.
 *
 * What this bounds: octets past the tap, i.e. held by the store until its put resolves, plus each
 * stream's own buffers (the RETR stream's 256 KiB high-water mark and the tap's). The memory budget of
 * one mailbox run is therefore: peak RSS growth <= maxInFlightBytes + the largest single message (the
 * oldest may exceed the budget, alone) + ~96 MiB for the runtime (garbage not yet collected, heap growth,
 * socket buffers). With the defaults: 64 MiB + largest message + 96 MiB. Checked by
 * test/integration/pipeline-memory-bound.test.ts (what it measured: bench/notes.md, "Figures behind the
 * design notes in the code").
 */
/** One admitted message's share of the budget: its LIST size reserved, then the octets that arrive. */
export interface InFlightCharge {
  /** Reserved or received, whichever is more. */
  readonly charged: number;
  /**
   * Counts `octets` more received. Returns a promise when the budget is spent and this message must stop
   * reading until earlier ones are released; undefined when it may go on at once.
   */
  received(octets: number): Promise<void> | undefined;
  /** The message is stored (or given up): its octets no longer count. Idempotent. */
  release(): void;
}

export class InFlightBudget {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #bytes = 0;
  /** Admitted and not yet released, oldest first (a Set keeps insertion order). */
  readonly #open = new Set<InFlightCharge>();
  #admissions: { listedSize: number; admit: (charge: InFlightCharge) => void }[] = [];
  #stalled: { charge: InFlightCharge; wake: () => void }[] = [];

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = Math.max(1, maxMessages);
    this.#maxBytes = Math.max(1, maxBytes);
  }

  get messages(): number {
    return this.#open.size;
  }

  /** Octets charged now: reserved by LIST size or received, whichever is more, for each open message. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Waits until a message listed at `listedSize` octets may start (FIFO), then reserves that much. */
  async admit(listedSize: number): Promise<InFlightCharge> {
    if (this.#admissions.length === 0 && this.#admits(listedSize)) return this.#openCharge(listedSize);
    return new Promise((admit) => this.#admissions.push({ listedSize, admit }));
  }

  #admits(listedSize: number): boolean {
    if (this.#open.size === 0) return true;
    return this.#open.size < this.#maxMessages && this.#bytes + listedSize <= this.#maxBytes;
  }

  #openCharge(reserved: number): InFlightCharge {
    let received = 0;
    let released = false;
    const charge: InFlightCharge = {
      get charged() {
        return Math.max(reserved, received);
      },
      received: (octets) => {
        if (released) return undefined;
        const before = charge.charged;
        received += octets;
        this.#bytes += charge.charged - before;
        if (!this.#mustWait(charge)) return undefined;
        return new Promise((wake) => this.#stalled.push({ charge, wake }));
      },
      release: () => {
        if (released) return;
        released = true;
        this.#close(charge);
      },
    };
    this.#open.add(charge);
    this.#bytes += reserved;
    return charge;
  }

  /** Over budget, every message but the oldest stops reading; the oldest has nothing left to wait for. */
  #mustWait(charge: InFlightCharge): boolean {
    return this.#bytes > this.#maxBytes && this.#open.values().next().value !== charge;
  }

  #close(charge: InFlightCharge): void {
    this.#open.delete(charge);
    this.#bytes -= charge.charged;
    // Messages already receiving go first: they hold octets; the ones waiting to start hold none.
    this.#stalled = this.#stalled.filter(({ charge: stalled, wake }) => {
      if (this.#open.has(stalled) && this.#mustWait(stalled)) return true;
      wake();
      return false;
    });
    while (this.#admissions.length > 0 && this.#admits(this.#admissions[0]!.listedSize)) {
      const next = this.#admissions.shift()!;
      next.admit(this.#openCharge(next.listedSize));
    }
  }
}
