/**
 * MessageStore on S3: one object per message, byte-identical, its SHA-256 verified by S3 itself.
 *
 * Small bodies (below the multipart threshold) go up in ONE PutObject carrying `x-amz-checksum-sha256`, so
 * S3 rejects the write unless the bytes it received hash to our digest. Larger bodies stream through a
 * multipart upload with SHA-256 part checksums to a temporary key under `.incoming/` (multipart-upload.ts;
 * memory bounded by the threshold plus the part buffers). S3 answers CompleteMultipartUpload with a composite checksum (SHA-256
 * of the part digests, `-N`), which we recompute from our own part digests: the temporary object is
 * verified BEFORE anything is visible under the final key. Then CopyObject, pinned to the verified upload
 * (`CopySourceIfMatch` its ETag), with `ChecksumAlgorithm: SHA256`, so S3 hashes the whole copy and reports
 * the full-object SHA-256, which must equal ours. A final key is never deleted: the construct's policy only
 * lets the store delete under `.incoming/`.
 *
 * Both final writes are conditional (`If-None-Match: *`). The key holds the content hash, so an existing
 * object under it should hold these exact bytes, but "should" is not "does": on 412 the store asks S3 for
 * the object's stored SHA-256 (HeadObject, ChecksumMode ENABLED). Objects this store wrote carry a
 * full-object SHA-256 (PutObject with the checksum, or CopyObject with SHA256). A composite one (a multipart
 * object written by something else) can only be checked with its part boundaries, and an object without a
 * SHA-256 (another tool, S3's default CRC64NVME) not at all: then the store reads the object back and
 * hashes it (GetObject, streamed). Only a match counts as stored (`created: false`); a mismatch throws
 * S3ObjectMismatchError: the message is not committed and stays on the server.
 *
 * The object's metadata keeps what its notification was built from beyond its bytes (retrieval and
 * processing time, host, username, trusted authserv-ids, UTF-8 mode; lib/replay/metadata.ts), fixed when
 * the final write is issued, so `mailbox-poller replay` can send the same notification again. An object
 * that already existed keeps the metadata of the run that first wrote it, and the store returns the times
 * kept there (`StoredMessage.firstStored`, read from the HeadObject the 412 check makes anyway): the
 * notification sent again for it is then the first one, byte for byte.
 *
 * Every request takes the run's deadline (`MessageToStore.signal`) as its abort signal, so a slow S3 near
 * the end cannot push a run past its timeout; an abandoned put rejects and the message is not committed.
 */
import { randomUUID } from 'node:crypto';
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { MessageStore, MessageToStore, NotificationTimes, StoredMessage } from '../ports.ts';
import { keptInputsMetadata, readKeptInputs } from '../replay/metadata.ts';
import { sendAbortable } from './abortable-send.ts';
import { describeAwsError, httpStatusOf } from './aws-common.ts';
import { S3MessageStoreError, S3ObjectMismatchError, storeError } from './errors.ts';
import { HashingReader, prefixThenRest } from './hashing-reader.ts';
import { type UploadedObject, uploadInParts } from './multipart-upload.ts';
import { encodeKeySegment, isRfc1939Uidl, objectKeyFor } from './object-key.ts';
import {
  compareChecksum,
  type ExpectedChecksum,
  hexToBase64,
  parseReportedChecksum,
} from './s3-checksums.ts';
import { ExistingObjects } from './s3-existing-objects.ts';

const MiB = 1024 * 1024;
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 8 * MiB;
/** S3 rejects multipart parts (other than the last) smaller than 5 MiB. */
export const MIN_PART_SIZE_BYTES = 5 * MiB;
/**
 * The smallest part S3 takes: memory holds the part being filled plus `queueSize` parts in flight, and
 * 5 MiB parts were no slower than 8 MiB ones on loopback.
 */
export const DEFAULT_PART_SIZE_BYTES = MIN_PART_SIZE_BYTES;
export const DEFAULT_UPLOAD_QUEUE_SIZE = 2;
export const MESSAGE_CONTENT_TYPE = 'message/rfc822';
/** Temporary objects of multipart uploads live under `<prefix>.incoming/<mailboxId>/`. */
export const INCOMING_FOLDER = '.incoming/';

/** Longest `x-amz-meta-uidl` written: S3 allows 2 KB of user metadata in all. */
const MAX_UIDL_METADATA_BYTES = 1024;

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
  /**
   * Told about problems that do not fail the put, such as a temporary object that could not be deleted
   * (`cause`: the SDK error). The CLI and the Lambda handler pass it to their logger.
   */
  readonly onWarning?: (message: string, cause?: unknown) => void;
}

export class S3MessageStore implements MessageStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #warn: (message: string, cause?: unknown) => void;
  readonly #objects: ExistingObjects;

  constructor(options: S3MessageStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#objects = new ExistingObjects(options.client, options.bucket);
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
      message.signal?.throwIfAborted();
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
      throw reader.failure ?? this.#abandoned(message, error);
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
    const signal = message.signal;
    const outcome = await this.#conditionally(key, 'PutObject', () =>
      sendAbortable(this.#client, command, signal),
    );
    if (outcome === 'exists') {
      const kept = await this.#objects.verifyExisting(key, { sha256 }, bytes.length, signal);
      return this.#stored(key, sha256, bytes.length, false, kept);
    }
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
    let uploaded: UploadedObject;
    try {
      const request = {
        client: this.#client,
        bucket: this.#bucket,
        key: tempKey,
        contentType: MESSAGE_CONTENT_TYPE,
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        signal: message.signal,
      };
      uploaded = await uploadInParts(request, prefixThenRest(prefix, reader));
    } catch (error) {
      if (reader.failure !== undefined) throw reader.failure;
      throw this.#error(tempKey, `upload failed: ${describeAwsError(error)}`, error);
    }
    try {
      if (!reader.ended) throw this.#error(tempKey, 'upload finished before the end of the message body');
      const expected = { sha256: reader.sha256Hex(), partDigests: uploaded.partDigests };
      const reported = { ChecksumSHA256: uploaded.checksumSha256, ChecksumType: uploaded.checksumType };
      await this.#verifyUpload(tempKey, reported, expected, reader.size, message.signal);
      return await this.#moveIntoPlace(message, tempKey, uploaded.etag, expected, reader.size);
    } finally {
      await this.#deleteQuietly(tempKey, message.signal);
    }
  }

  /** Checks the temporary object against our digests before anything is copied to the final key. */
  async #verifyUpload(
    tempKey: string,
    uploaded: { ChecksumSHA256?: string; ChecksumType?: string },
    expected: ExpectedChecksum,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let reported = parseReportedChecksum(uploaded.ChecksumSHA256, uploaded.ChecksumType);
    let storedSize: number | undefined;
    if (reported === undefined) {
      const head = await this.#objects.head(tempKey, signal);
      reported = parseReportedChecksum(head.ChecksumSHA256, head.ChecksumType);
      storedSize = head.ContentLength;
    }
    if (reported !== undefined) {
      const verdict = compareChecksum(reported, expected);
      if (verdict === 'match') return;
      const what = verdict === 'mismatch' ? 'differs from ours' : 'cannot be compared with ours';
      throw this.#error(tempKey, `the SHA-256 S3 reported for the upload (${reported.digest}) ${what}`);
    }
    // Only stores that compute no checksums (local emulators) get here: check what we can.
    if (storedSize !== size) throw this.#error(tempKey, `uploaded ${storedSize} bytes, expected ${size}`);
  }

  /** Copies the verified temporary object to its final key, making S3 hash the whole copy on the way. */
  async #moveIntoPlace(
    message: MessageToStore,
    tempKey: string,
    etag: string | undefined,
    expected: ExpectedChecksum,
    size: number,
  ): Promise<StoredMessage> {
    const { sha256 } = expected;
    const key = objectKeyFor(this.#prefix, message.mailboxId, message.uidl, sha256);
    const command = new CopyObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      CopySource: copySourceFor(this.#bucket, tempKey),
      // Exactly the upload we verified, even if something replaced the temporary object since.
      ...(etag === undefined ? {} : { CopySourceIfMatch: etag }),
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
      MetadataDirective: 'REPLACE',
      ContentType: MESSAGE_CONTENT_TYPE,
      Metadata: metadataFor(message, sha256),
    });
    const signal = message.signal;
    const outcome = await this.#conditionally(key, 'CopyObject', () =>
      sendAbortable(this.#client, command, signal),
    );
    if (outcome === 'exists') {
      // 412 also answers a failed CopySourceIfMatch; then the final key holds nothing and this fails.
      const kept = await this.#objects.verifyExisting(key, expected, size, signal);
      return this.#stored(key, sha256, size, false, kept);
    }
    const result = outcome.CopyObjectResult;
    const reported = parseReportedChecksum(result?.ChecksumSHA256, result?.ChecksumType);
    // The source was verified, so a differing copy means S3 itself changed the bytes. The final object
    // stays (the policy forbids deleting it); the next run's 412 check refuses it again.
    if (reported !== undefined && compareChecksum(reported, expected) === 'mismatch') {
      throw new S3ObjectMismatchError(this.#bucket, key, `the copy's SHA-256 is ${reported.digest}`);
    }
    return this.#stored(key, sha256, size, true);
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

  /** Removes a temporary object; a failure only warns (the bucket's lifecycle rule expires it). */
  async #deleteQuietly(key: string, signal: AbortSignal | undefined): Promise<void> {
    const where = `s3://${this.#bucket}/${key}`;
    if (signal?.aborted) {
      this.#warn(`left ${where} for the lifecycle rule: the run's deadline passed`);
      return;
    }
    try {
      const command = new DeleteObjectCommand({ Bucket: this.#bucket, Key: key });
      await sendAbortable(this.#client, command, signal);
    } catch (error) {
      this.#warn(`could not delete ${where}: ${describeAwsError(error)}`, error);
    }
  }

  /** A failure after the run's deadline aborted: say so, whatever the SDK called it. */
  #abandoned(message: MessageToStore, error: unknown): unknown {
    const signal = message.signal;
    if (!signal?.aborted || error instanceof S3ObjectMismatchError) return error;
    const key = error instanceof S3MessageStoreError ? error.key : `${this.#prefix}${message.mailboxId}/`;
    const problem = "abandoned: the run's deadline passed; the message stays on the server for the next run";
    return this.#error(key, problem, error);
  }

  /** `existing`: the metadata of the object that was already there (HeadObject after the 412). */
  #stored(
    key: string,
    sha256: string,
    size: number,
    created: boolean,
    existing?: Readonly<Record<string, string>>,
  ): StoredMessage {
    const stored = { key, location: this.#bucket, sha256, size, created };
    const firstStored = existing === undefined ? undefined : keptTimesOf(existing);
    return firstStored === undefined ? stored : { ...stored, firstStored };
  }

  #error(key: string, problem: string, cause?: unknown): S3MessageStoreError {
    return storeError(this.#bucket, key, problem, cause);
  }
}

function metadataFor(message: MessageToStore, sha256: string): Record<string, string> {
  const metadata: Record<string, string> = { 'mailbox-id': message.mailboxId, sha256 };
  if (message.uidl !== undefined) {
    // Metadata travels as HTTP headers, which carry ASCII only.
    // S3 limits user metadata to 2 KB; a UIDL that long is outside RFC 1939 and named by the key's hash.
    const uidl = isRfc1939Uidl(message.uidl) ? message.uidl : encodeKeySegment(message.uidl);
    if (uidl.length <= MAX_UIDL_METADATA_BYTES) metadata.uidl = uidl;
  }
  const context = message.notificationContext;
  if (context === undefined) return metadata;
  // What `replay` needs to build the same notification again; read once, as the final write goes out.
  const inputs = {
    ...context,
    retrievedAt: message.retrievedAt,
    processingTimeMillis: context.processingTimeMillis(),
  };
  return { ...metadata, ...keptInputsMetadata(inputs, metadata) };
}

/**
 * The retrieval and processing time an existing object keeps, decoded as `replay` decodes them; undefined
 * unless both are there (the store writes them together), so a notification never mixes two runs' times.
 */
function keptTimesOf(metadata: Readonly<Record<string, string>>): NotificationTimes | undefined {
  const { retrievedAt, processingTimeMillis } = readKeptInputs(metadata);
  if (retrievedAt === undefined || processingTimeMillis === undefined) return undefined;
  return { retrievedAt, processingTimeMillis };
}

/** `x-amz-copy-source` is `<bucket>/<key>` with the key URL-encoded segment by segment. */
function copySourceFor(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
