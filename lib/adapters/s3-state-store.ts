import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
import { putIfVersion } from './s3-versioned-write.ts';

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
    // Not Content-Encoding: gzip, which some HTTP clients undo on the way back: the bytes are the gzip.
    const write = { bucket: this.#bucket, key, body, contentType: 'application/gzip' };
    const written = await putIfVersion(this.#client, {
      ...write,
      expectedVersion,
      signal: options.signal,
    }).catch((error: unknown) => {
      throw this.#error(key, `PutObject failed: ${describeAwsError(error)}`, error);
    });
    if ('etag' in written) return written.etag;
    throw new StateConflictError(
      `the state of mailbox ${mailboxId} (s3://${this.#bucket}/${key}) was written by another poller since ` +
        `this run read it (HTTP ${written.conflict}); nothing was deleted, the next run starts from the other poller's state`,
      { cause: written.error },
    );
  }

  #error(key: string, what: string, cause: unknown): S3StateStoreError {
    return new S3StateStoreError(`mailbox state s3://${this.#bucket}/${key}: ${what}`, { cause });
  }
}
