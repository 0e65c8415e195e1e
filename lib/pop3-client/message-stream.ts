/**
 * RETR/TOP bodies as Node Readables with real backpressure: when a consumer falls behind, the stream
 * reports itself blocked and the connection stops reading the socket, so the server's TCP window fills
 * instead of our memory. Memory stays flat however large the message is.
 */
import { Readable } from 'node:stream';
import { Pop3MessageTooLargeError } from '../pop3/errors.ts';

/** Pauses the socket while any message stream is over its high-water mark. */
export class FlowControl {
  readonly #blocked = new Set<MessageStream>();
  readonly #pause: () => void;
  readonly #resume: () => void;

  constructor(pause: () => void, resume: () => void) {
    this.#pause = pause;
    this.#resume = resume;
  }

  get paused(): boolean {
    return this.#blocked.size > 0;
  }

  block(stream: MessageStream): void {
    const wasPaused = this.paused;
    this.#blocked.add(stream);
    if (!wasPaused) this.#pause();
  }

  unblock(stream: MessageStream): void {
    if (!this.#blocked.delete(stream)) return;
    if (!this.paused) this.#resume();
  }
}

/** 256 KiB: enough to keep a fast consumer busy, small enough that many in-flight RETRs stay cheap. */
export const MESSAGE_STREAM_HIGH_WATER_MARK = 256 * 1024;

export interface MessageStreamOptions {
  readonly flow: FlowControl;
  /** A body larger than this fails the stream with Pop3MessageTooLargeError. */
  readonly maxBytes: number;
  readonly describe: string;
  readonly server: string;
}

/**
 * The receiving end of one RETR/TOP reply. The connection calls `deliver`/`finish`/`abort`; the
 * consumer reads. A consumer that destroys the stream early makes the rest of the reply be discarded,
 * so the conversation stays in step.
 */
export class MessageStream extends Readable {
  #received = 0;
  readonly #options: MessageStreamOptions;

  constructor(options: MessageStreamOptions) {
    super({ highWaterMark: MESSAGE_STREAM_HIGH_WATER_MARK });
    this.#options = options;
    const release = () => options.flow.unblock(this);
    this.once('end', release);
    this.once('close', release);
  }

  /** Octets received so far (after unstuffing). */
  get receivedBytes(): number {
    return this.#received;
  }

  override _read(): void {
    this.#options.flow.unblock(this);
  }

  /** Hands over unstuffed body bytes; excess over the size limit fails the stream. */
  deliver(chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.destroyed) return;
    if (this.#received > this.#options.maxBytes) {
      this.destroy(
        new Pop3MessageTooLargeError(
          `${this.#options.describe} from ${this.#options.server} exceeds the limit of ${this.#options.maxBytes} octets`,
          { limit: this.#options.maxBytes, seen: this.#received, server: this.#options.server },
        ),
      );
      return;
    }
    if (!this.push(chunk)) this.#options.flow.block(this);
  }

  finish(): void {
    if (!this.destroyed) this.push(null);
  }

  abort(error: Error): void {
    if (!this.destroyed) this.destroy(error);
  }
}
