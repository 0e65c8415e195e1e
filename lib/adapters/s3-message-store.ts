/**
 * MessageStore on S3: one object per message, byte-identical, its SHA-256 verified by S3 itself.
 *
 * Small bodies (below the multipart threshold) go up in ONE PutObject carrying `x-amz-checksum-sha256`, so
 * S3 rejects the write unless the bytes it received hash to our digest. Larger bodies stream through a
 * multipart upload to a temporary key (memory bounded by the threshold plus the part buffers), then
 * CopyObject with `ChecksumAlgorithm: SHA256` makes S3 hash the whole object, which we compare with ours.
 * Both writes are conditional (`If-None-Match: *`): the key holds the content hash, so an existing object
 * under it already has these exact bytes and a re-poll reports `created: false` instead of rewriting it.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { MessageStore, MessageToStore, StoredMessage } from '../ports.ts';
import {
  AWS_HTTP_OPTIONS,
  describeAwsError,
  endpointFromEnv,
  httpStatusOf,
  regionFromEnv,
} from './aws-common.ts';
import { HashingReader, prefixThenRest } from './hashing-reader.ts';
import { encodeKeySegment, objectKeyFor } from './object-key.ts';

const MiB = 1024 * 1024;
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 8 * MiB;
export const DEFAULT_PART_SIZE_BYTES = 8 * MiB;
/** S3 rejects multipart parts (other than the last) smaller than 5 MiB. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
export const DEFAULT_UPLOAD_QUEUE_SIZE = 2;
export const MESSAGE_CONTENT_TYPE = 'message/rfc822';
/** Temporary objects of multipart uploads live under `<prefix>.incoming/<mailboxId>/`. */
export const INCOMING_FOLDER = '.incoming/';

/** RFC 1939 section 7: a unique-id is 1 to 70 characters in the range 0x21 to 0x7E. */
const ASCII_SAFE_UIDL = /^[\x21-\x7e]+$/;

export interface S3MessageStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Prepended to every key, e.g. `mail/` (default ''). */
  readonly keyPrefix?: string;
  /** Bodies this large or larger take the multipart path (default 8 MiB). */
  readonly multipartThresholdBytes?: number;
  readonly partSize?: number;
  /** Parts uploaded in parallel; each holds one part buffer in memory (default 2). */
  readonly queueSize?: number;
  /** Told about problems that do not fail the put, such as a temporary object that could not be deleted. */
  readonly onWarning?: (message: string) => void;
}

/** An S3 request failed; the message names the bucket and key, `cause` holds the SDK error. */
export class S3MessageStoreError extends Error {
  override readonly name = 'S3MessageStoreError';
  constructor(
    message: string,
    readonly bucket: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class S3MessageStore implements MessageStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #warn: (message: string) => void;

  constructor(options: S3MessageStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.keyPrefix ?? '';
    this.#threshold = options.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
    this.#partSize = options.partSize ?? DEFAULT_PART_SIZE_BYTES;
    this.#queueSize = options.queueSize ?? DEFAULT_UPLOAD_QUEUE_SIZE;
    this.#warn = options.onWarning ?? (() => {});
    if (this.#partSize < MIN_PART_SIZE_BYTES) {
      throw new RangeError(`partSize must be at least ${MIN_PART_SIZE_BYTES} bytes (S3 multipart minimum)`);
    }
  }

  async put(message: MessageToStore): Promise<StoredMessage> {
    const reader = new HashingReader(message.body);
    try {
      const prefix: Buffer[] = [];
      while (reader.size < this.#threshold) {
        const chunk = await reader.next();
        if (chunk === undefined) break;
        prefix.push(chunk);
      }
      if (reader.ended) {
        return await this.#putWhole(message, Buffer.concat(prefix, reader.size), reader.sha256Hex());
      }
      return await this.#putStreamed(message, prefix, reader);
    } catch (error) {
      reader.abandon();
      // A failing body (connection lost, message over the size limit) keeps its own error class.
      throw reader.failure ?? error;
    }
  }

  async #putWhole(message: MessageToStore, bytes: Buffer, sha256: string): Promise<StoredMessage> {
    const key = objectKeyFor(this.#prefix, message.mailboxId, message.uidl, sha256);
    const checksum = hexToBase64(sha256);
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      Body: bytes,
      ContentLength: bytes.length,
      ContentType: MESSAGE_CONTENT_TYPE,
      ChecksumSHA256: checksum,
      IfNoneMatch: '*',
      Metadata: metadataFor(message, sha256),
    });
    const outcome = await this.#conditionally(key, 'PutObject', () => this.#client.send(command));
    if (outcome === 'exists') return this.#stored(key, sha256, bytes.length, false);
    if (outcome.ChecksumSHA256 !== undefined && outcome.ChecksumSHA256 !== checksum) {
      throw this.#error(key, `S3 reported SHA-256 ${outcome.ChecksumSHA256}, expected ${checksum}`);
    }
    return this.#stored(key, sha256, bytes.length, true);
  }

  async #putStreamed(
    message: MessageToStore,
    prefix: Buffer[],
    reader: HashingReader,
  ): Promise<StoredMessage> {
    const tempKey = `${this.#prefix}${INCOMING_FOLDER}${message.mailboxId}/${randomUUID()}`;
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.#bucket,
        Key: tempKey,
        Body: Readable.from(prefixThenRest(prefix, reader)),
        ContentType: MESSAGE_CONTENT_TYPE,
      },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      if (reader.failure !== undefined) throw reader.failure;
      throw this.#error(tempKey, `upload failed: ${describeAwsError(error)}`, error);
    }
    try {
      if (!reader.ended) throw this.#error(tempKey, 'upload finished before the end of the message body');
      return await this.#moveIntoPlace(message, tempKey, reader.sha256Hex(), reader.size);
    } finally {
      await this.#deleteQuietly(tempKey);
    }
  }

  /** Copies the temporary object to its final key, making S3 hash it on the way. */
  async #moveIntoPlace(
    message: MessageToStore,
    tempKey: string,
    sha256: string,
    size: number,
  ): Promise<StoredMessage> {
    const key = objectKeyFor(this.#prefix, message.mailboxId, message.uidl, sha256);
    const command = new CopyObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      CopySource: copySourceFor(this.#bucket, tempKey),
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
      MetadataDirective: 'REPLACE',
      ContentType: MESSAGE_CONTENT_TYPE,
      Metadata: metadataFor(message, sha256),
    });
    const outcome = await this.#conditionally(key, 'CopyObject', () => this.#client.send(command));
    if (outcome === 'exists') return this.#stored(key, sha256, size, false);
    const result = outcome.CopyObjectResult;
    const isWholeObjectChecksum = result?.ChecksumSHA256 !== undefined && result.ChecksumType !== 'COMPOSITE';
    const problem = isWholeObjectChecksum
      ? checksumProblem(result?.ChecksumSHA256, hexToBase64(sha256))
      : // Only stores that do not compute copy checksums (local emulators) get here: check what we can.
        await this.#sizeProblem(key, size);
    if (problem !== undefined) {
      await this.#deleteQuietly(key);
      throw this.#error(key, problem);
    }
    return this.#stored(key, sha256, size, true);
  }

  async #sizeProblem(key: string, size: number): Promise<string | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      if (head.ContentLength === size) return undefined;
      return `stored object has ${head.ContentLength} bytes, expected ${size}`;
    } catch (error) {
      throw this.#error(key, `HeadObject failed: ${describeAwsError(error)}`, error);
    }
  }

  /** Runs a conditional write; 'exists' when the key is already taken (HTTP 412). */
  async #conditionally<T>(key: string, operation: string, write: () => Promise<T>): Promise<T | 'exists'> {
    // 409 ConditionalRequestConflict: a concurrent write to the same key; once it settles we get 412.
    const ATTEMPTS = 2;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === 412) return 'exists';
        if (status === 409 && attempt < ATTEMPTS) continue;
        throw this.#error(key, `${operation} failed: ${describeAwsError(error)}`, error);
      }
    }
  }

  async #deleteQuietly(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (error) {
      this.#warn(`could not delete s3://${this.#bucket}/${key}: ${describeAwsError(error)}`);
    }
  }

  #stored(key: string, sha256: string, size: number, created: boolean): StoredMessage {
    return { key, location: this.#bucket, sha256, size, created };
  }

  #error(key: string, problem: string, cause?: unknown): S3MessageStoreError {
    const options = cause === undefined ? undefined : { cause };
    return new S3MessageStoreError(`s3://${this.#bucket}/${key}: ${problem}`, this.#bucket, key, options);
  }
}

/**
 * An S3 client configured from the environment: region from AWS_REGION (default us-east-1) and, when
 * AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) points at a local S3, path-style addressing, which such
 * servers need because `<bucket>.localhost` does not resolve.
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_S3');
  return new S3Client({
    region: regionFromEnv(),
    requestHandler: AWS_HTTP_OPTIONS,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...config,
  });
}

function metadataFor(message: MessageToStore, sha256: string): Record<string, string> {
  const metadata: Record<string, string> = { 'mailbox-id': message.mailboxId, sha256 };
  if (message.uidl !== undefined) {
    // Metadata travels as HTTP headers, which carry ASCII only.
    metadata.uidl = ASCII_SAFE_UIDL.test(message.uidl) ? message.uidl : encodeKeySegment(message.uidl);
  }
  return metadata;
}

function checksumProblem(reported: string | undefined, expected: string): string | undefined {
  return reported === expected ? undefined : `S3 computed SHA-256 ${reported}, expected ${expected}`;
}

function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** `x-amz-copy-source` is `<bucket>/<key>` with the key URL-encoded segment by segment. */
function copySourceFor(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
