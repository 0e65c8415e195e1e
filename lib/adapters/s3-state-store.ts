/**
 * MailboxStateStore on S3: one object per keep-mode mailbox, `<keyPrefix>.state/<mailboxId>.jsonl.gz`
 * (gzip JSON lines, lib/adapters/mailbox-state-codec.ts), in the bucket that holds the messages. Mailbox
 * ids start with a letter or digit, so no message key can start with `.state/`.
 *
 * Every write is conditional, so two writers can never silently overwrite each other: an update carries
 * `If-Match` with the ETag this run read, the first write `If-None-Match: *`. The FIFO job queue already
 * keeps one poller per mailbox; the condition is the second wall, for a redelivered job or a CLI run
 * against the same bucket. S3 answers a lost race with 412 (or 409 ConditionalRequestConflict while a
 * concurrent write settles): that is a StateConflictError, and the run fails safe (lib/pipeline/keep-mode.ts:
 * nothing deleted, the state is not written, the next run loads the winner's state).
 *
 * The body carries its SHA-256 (`x-amz-checksum-sha256`), so S3 rejects a write whose bytes arrived
 * altered. Requests take the run's deadline as their abort signal.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type MailboxState,
  type MailboxStateStore,
  StateConflictError,
  type VersionedState,
} from '../ports.ts';
import { sendAbortable } from './abortable-send.ts';
import { describeAwsError, httpStatusOf } from './aws-common.ts';
import { stateKeyFor } from './local-state-store.ts';
import { decodeState, encodeState } from './mailbox-state-codec.ts';
import { s3KeyIsAbsent } from './s3-key-absent.ts';

export interface S3StateStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** As for the message store (default ''). */
  readonly keyPrefix?: string;
}

/** Reading or writing the state failed for a reason other than a conflict (permissions, network). */
export class S3StateStoreError extends Error {
  override readonly name = 'S3StateStoreError';
}

export class S3StateStore implements MailboxStateStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3StateStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.keyPrefix ?? '';
  }

  async load(mailboxId: string, options: { signal?: AbortSignal } = {}): Promise<VersionedState | undefined> {
    const key = stateKeyFor(this.#prefix, mailboxId);
    let bytes: Uint8Array;
    let etag: string | undefined;
    try {
      const command = new GetObjectCommand({ Bucket: this.#bucket, Key: key });
      const response = await sendAbortable(this.#client, command, options.signal);
      etag = response.ETag;
      bytes = await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    } catch (error) {
      if (httpStatusOf(error) === 404 || (error as Error).name === 'NoSuchKey') return undefined;
      // Without s3:ListBucket S3 answers a missing key with 403, like a refused read: only a listing of
      // the key (the construct grants ListBucket for the state prefix) tells the two apart.
      if (
        httpStatusOf(error) === 403 &&
        (await s3KeyIsAbsent(this.#client, this.#bucket, key, options.signal))
      )
        return undefined;
      throw this.#error(key, `GetObject failed: ${describeAwsError(error)}`, error);
    }
    if (etag === undefined) throw this.#error(key, 'GetObject answered without an ETag', undefined);
    return { state: decodeState(mailboxId, Buffer.from(bytes)).state, version: etag };
  }

  async save(
    mailboxId: string,
    state: MailboxState,
    expectedVersion: string | undefined,
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const key = stateKeyFor(this.#prefix, mailboxId);
    // The counter only matters to the local store; S3's ETag is the version here.
    const body = encodeState(mailboxId, state, 0);
    const command = new PutObjectCommand({
      Bucket: this.#bucket,
      Key: key,
      Body: body,
      // Not Content-Encoding: gzip, which some HTTP clients undo on the way back: the bytes are the gzip.
      ContentType: 'application/gzip',
      ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
      ...(expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: expectedVersion }),
    });
    try {
      const response = await sendAbortable(this.#client, command, options.signal);
      if (response.ETag === undefined) throw new Error('PutObject answered without an ETag');
      return response.ETag;
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 412 || status === 409) {
        throw new StateConflictError(
          `the state of mailbox ${mailboxId} (s3://${this.#bucket}/${key}) was written by another poller since ` +
            `this run read it (HTTP ${status}); nothing was deleted, the next run starts from the other poller's state`,
          { cause: error },
        );
      }
      throw this.#error(key, `PutObject failed: ${describeAwsError(error)}`, error);
    }
  }

  #error(key: string, what: string, cause: unknown): S3StateStoreError {
    return new S3StateStoreError(`mailbox state s3://${this.#bucket}/${key}: ${what}`, { cause });
  }
}
