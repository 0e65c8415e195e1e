/**
 * Bounds what is retrieved but not yet stored: at most `maxMessages` messages and `maxBytes` octets (by
 * LIST size) in flight. A message larger than the whole byte budget still runs, alone, so nothing is
 * starved; memory is then bounded by the store's own streaming (multipart) instead.
 */
export class InFlightBudget {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  #messages = 0;
  #bytes = 0;
  #waiters: { bytes: number; wake: () => void }[] = [];

  constructor(maxMessages: number, maxBytes: number) {
    this.#maxMessages = Math.max(1, maxMessages);
    this.#maxBytes = Math.max(1, maxBytes);
  }

  get messages(): number {
    return this.#messages;
  }

  async acquire(bytes: number): Promise<void> {
    if (this.#fits(bytes)) {
      this.#take(bytes);
      return;
    }
    await new Promise<void>((wake) => this.#waiters.push({ bytes, wake }));
  }

  release(bytes: number): void {
    this.#messages--;
    this.#bytes -= bytes;
    // FIFO: messages start in LIST order.
    while (this.#waiters.length > 0 && this.#fits(this.#waiters[0]!.bytes)) {
      const next = this.#waiters.shift()!;
      this.#take(next.bytes);
      next.wake();
    }
  }

  #fits(bytes: number): boolean {
    if (this.#messages === 0) return true;
    return this.#messages < this.#maxMessages && this.#bytes + bytes <= this.#maxBytes;
  }

  #take(bytes: number): void {
    this.#messages++;
    this.#bytes += bytes;
  }
}
