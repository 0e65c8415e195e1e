/**
 * Reads a message body chunk by chunk while computing its SHA-256 and size, so a store can decide how to
 * upload after seeing only a bounded prefix and still know the digest of every byte it passed on.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';

export class HashingReader {
  readonly #body: Readable;
  readonly #chunks: AsyncIterator<unknown>;
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #ended = false;
  #failure: unknown;
  #digest: string | undefined;

  constructor(body: Readable) {
    this.#body = body;
    // The iterator, not `for await`, so that stopping after a prefix does not destroy the body.
    this.#chunks = body[Symbol.asyncIterator]();
  }

  /** Octets read so far. */
  get size(): number {
    return this.#size;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** The error the body failed with, if it did: callers rethrow it unchanged so it can be classified. */
  get failure(): unknown {
    return this.#failure;
  }

  /** The next chunk, or undefined at the end of the body. */
  async next(): Promise<Buffer | undefined> {
    if (this.#ended) return undefined;
    let result: IteratorResult<unknown>;
    try {
      result = await this.#chunks.next();
    } catch (error) {
      this.#failure = error;
      throw error;
    }
    if (result.done) {
      this.#ended = true;
      return undefined;
    }
    const chunk = result.value;
    if (!(chunk instanceof Uint8Array)) {
      // A string chunk means someone decoded the bytes: storing it could alter the message.
      this.#failure = new TypeError('message body must yield Buffers, not decoded text');
      throw this.#failure;
    }
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.#hash.update(buffer);
    this.#size += buffer.length;
    return buffer;
  }

  /** Lowercase hex SHA-256 of the whole body; only once it has been read to the end. */
  sha256Hex(): string {
    if (!this.#ended) throw new Error('the body has not been read to the end');
    this.#digest ??= this.#hash.digest('hex');
    return this.#digest;
  }

  /**
   * Stops reading a body that will not be consumed to the end. The POP3 message stream then discards the
   * rest of the reply, which keeps the conversation in step instead of leaving the socket paused.
   */
  abandon(): void {
    if (!this.#ended && !this.#body.destroyed) this.#body.destroy();
  }
}

/** `prefix` followed by the rest of `reader`, as an async iterable an uploader can consume at its pace. */
export async function* prefixThenRest(prefix: Buffer[], reader: HashingReader): AsyncGenerator<Buffer> {
  // Shift rather than iterate so each prefix chunk can be collected as soon as it has been handed over.
  for (let chunk = prefix.shift(); chunk !== undefined; chunk = prefix.shift()) yield chunk;
  for (let chunk = await reader.next(); chunk !== undefined; chunk = await reader.next()) yield chunk;
}
