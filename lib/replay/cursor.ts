/**
 * Where a replay stopped, as one key: objects are taken in the listing's key order (ListObjectsV2 lists
 * in UTF-8 binary order), and the cursor is the last key up to which every object is done (sent, or
 * passed over). `--start-after` that key (ListObjectsV2 StartAfter) goes on with exactly the rest.
 * Objects finish out of order (a batch is sent when it is full), so the cursor keeps the keys begun and
 * not yet finished, at most the in-flight window plus one batch.
 */
export class ResumeCursor {
  readonly #open: string[] = [];
  readonly #finished = new Set<string>();
  #doneThrough: string | undefined;

  /** `startAfter`: where this run began (its own resume point until an object is done). */
  constructor(startAfter?: string) {
    this.#doneThrough = startAfter;
  }

  /** An object is taken on; keys must come in listing order. */
  begin(key: string): void {
    const last = this.#open.at(-1) ?? this.#doneThrough;
    if (last !== undefined && !(Buffer.compare(Buffer.from(last), Buffer.from(key)) < 0)) {
      throw new RangeError(`keys out of listing order: "${key}" after "${last}"`);
    }
    this.#open.push(key);
  }

  finish(key: string): void {
    this.#finished.add(key);
    while (this.#open.length > 0 && this.#finished.has(this.#open[0]!)) {
      const done = this.#open.shift()!;
      this.#finished.delete(done);
      this.#doneThrough = done;
    }
  }

  /** The `--start-after` that continues with exactly what is not done; undefined: from the beginning. */
  get resumeAfter(): string | undefined {
    return this.#doneThrough;
  }

  /** Objects begun and not finished. */
  get pending(): number {
    return this.#open.length;
  }
}
