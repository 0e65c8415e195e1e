/**
 * The parse stage's S3 side: the raw message read as a stream, each part and the document written under
 * the keys derived from the raw key (keys.ts).
 *
 * - Reads stream (GetObject's body goes straight into the parser), so a 100 MiB message is never whole in
 *   memory.
 * - A part up to one part size (5 MiB, S3's smallest multipart part) goes up in one PutObject with its
 *   SHA-256 as `x-amz-checksum-sha256`, so S3 refuses bytes that arrive different; a larger one through the
 *   project's multipart uploader (lib/adapters/multipart-upload.ts: one part buffer filled, two in flight,
 *   each part's SHA-256 checked by S3), straight to its final key. No temporary key and no conditional
 *   write, unlike the message store: a parsed object is derived data, and writing it again (a redelivered
 *   event, a retry) writes the same bytes to the same key, which is what makes the stage idempotent.
 * - Every part is stored as `application/octet-stream`, whatever it declared: the declared type is the
 *   sender's word and is in the document; served as `text/html` through a presigned URL, a part would run
 *   in the reader's browser.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sendAbortable } from '../adapters/abortable-send.ts';
import { uploadInParts } from '../adapters/multipart-upload.ts';
import { DEFAULT_UPLOAD_QUEUE_SIZE, MIN_PART_SIZE_BYTES } from '../adapters/s3-message-store.ts';
import type { PartSink } from './parse-message.ts';

const PART_CONTENT_TYPE = 'application/octet-stream';
const DOCUMENT_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface S3ParsedStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** The invocation's deadline: requests still running when it aborts are abandoned. */
  readonly signal?: AbortSignal;
}

export class S3ParsedStore implements PartSink {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #signal: AbortSignal | undefined;

  constructor(options: S3ParsedStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#signal = options.signal;
  }

  /** The raw message as a stream, with its size. */
  async readRaw(key: string): Promise<{ body: Readable; size: number }> {
    const reply = await sendAbortable(
      this.#client,
      new GetObjectCommand({ Bucket: this.#bucket, Key: key }),
      this.#signal,
    );
    return { body: reply.Body as Readable, size: reply.ContentLength ?? 0 };
  }

  async writePart(key: string, content: AsyncIterable<Buffer>): Promise<void> {
    const chunks = content[Symbol.asyncIterator]();
    const first: Buffer[] = [];
    let buffered = 0;
    while (buffered <= MIN_PART_SIZE_BYTES) {
      const next = await chunks.next();
      if (next.done) return this.#put(key, Buffer.concat(first, buffered), PART_CONTENT_TYPE);
      first.push(next.value);
      buffered += next.value.length;
    }
    async function* rest(): AsyncGenerator<Buffer> {
      for (let chunk = first.shift(); chunk !== undefined; chunk = first.shift()) yield chunk;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    }
    await uploadInParts(
      {
        client: this.#client,
        bucket: this.#bucket,
        key,
        contentType: PART_CONTENT_TYPE,
        partSize: MIN_PART_SIZE_BYTES,
        queueSize: DEFAULT_UPLOAD_QUEUE_SIZE,
        signal: this.#signal,
      },
      rest(),
    );
  }

  async writeDocument(key: string, json: string): Promise<void> {
    await this.#put(key, Buffer.from(json, 'utf8'), DOCUMENT_CONTENT_TYPE);
  }

  async #put(key: string, body: Buffer, contentType: string): Promise<void> {
    await sendAbortable(
      this.#client,
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
      }),
      this.#signal,
    );
  }
}
