/**
 * Sits between the RETR stream and the store: passes every byte through untouched, counts them, and keeps
 * the header section for the notification, so the message is read from the server exactly once.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { HeaderCollector } from '../notification/index.ts';

export class MessageTap extends Transform {
  readonly header = new HeaderCollector();
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    this.header.write(chunk);
    done(null, chunk);
  }
}
