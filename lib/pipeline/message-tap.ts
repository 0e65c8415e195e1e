/**
 * Sits between the RETR stream and the store: passes every byte through untouched, counts them, and keeps
 * the header section for the notification, so the message is read from the server exactly once. It also
 * charges the in-flight budget with each chunk as it arrives; when the budget says wait, the chunk is held
 * and backpressure stops the RETR stream, and through it the socket, until earlier messages are stored.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { HeaderCollector } from '../notification/index.ts';

/**
 * Counts octets as they arrive against the in-flight budget; returns a promise when the reader must wait
 * for earlier messages to be stored first.
 */
export type ChargeReceived = (octets: number) => Promise<void> | undefined;

export class MessageTap extends Transform {
  readonly header = new HeaderCollector();
  readonly #charge: ChargeReceived | undefined;
  #bytes = 0;

  constructor(charge?: ChargeReceived) {
    super();
    this.#charge = charge;
  }

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    this.header.write(chunk);
    const wait = this.#charge?.(chunk.length);
    if (wait === undefined) done(null, chunk);
    else void wait.then(() => done(null, chunk));
  }
}
