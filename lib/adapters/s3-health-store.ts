import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { decodeHealth, encodeHealth, type MailboxHealth, type VersionedHealth } from '../health/record.ts';
import { HEALTH_RECORDS_FOLDER } from '../health/states.ts';
import { type MailboxHealthStore, StateConflictError } from '../ports.ts';
import { sendAbortable } from './abortable-send.ts';
import { describeAwsError, httpStatusOf } from './aws-common.ts';
import { s3KeyIsAbsent } from './s3-key-absent.ts';
import { putIfVersion } from './s3-versioned-write.ts';

export interface S3HealthStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** As for the message store (default ''). */
  readonly keyPrefix?: string;
}

/** Key (relative path) of a mailbox's health record; the local store uses the same name under its folder. */
export function healthKeyFor(keyPrefix: string, mailboxId: string): string {
  return `${healthPrefixOf(keyPrefix)}${mailboxId}.json`;
}

export function healthPrefixOf(keyPrefix: string): string {
  return `${keyPrefix}${HEALTH_RECORDS_FOLDER}`;
}

/** Reading or writing a record failed for a reason other than a conflict (permissions, network). */
export class HealthStoreError extends Error {
  override readonly name = 'HealthStoreError';
}

type Options = { signal?: AbortSignal };

/** Records `list` reads at once: the SDK's default connection pool (50) with room for other requests. */
const LIST_READS_AT_ONCE = 16;

export class S3HealthStore implements MailboxHealthStore {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3HealthStoreOptions) {
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.keyPrefix ?? '';
  }

  async load(mailboxId: string, options: Options = {}): Promise<VersionedHealth | undefined> {
    const key = healthKeyFor(this.#prefix, mailboxId);
    const read = await this.#get(key, options.signal);
    if (read === undefined) return undefined;
    return { health: decodeHealth(mailboxId, read.bytes), version: read.etag };
  }

  async save(health: MailboxHealth, expectedVersion: string | undefined, options: Options = {}) {
    const key = healthKeyFor(this.#prefix, health.mailboxId);
    const write = { bucket: this.#bucket, key, body: encodeHealth(health), contentType: 'application/json' };
    const written = await putIfVersion(this.#client, {
      ...write,
      expectedVersion,
      signal: options.signal,
    }).catch((error: unknown) => {
      throw this.#error(key, `PutObject failed: ${describeAwsError(error)}`, error);
    });
    if ('etag' in written) return written.etag;
    throw new StateConflictError(
      `the health record of ${health.mailboxId} (s3://${this.#bucket}/${key}) was written by another ` +
        `run since this one read it (HTTP ${written.conflict})`,
      { cause: written.error },
    );
  }

  async list(options: Options = {}): Promise<MailboxHealth[]> {
    const prefix = healthPrefixOf(this.#prefix);
    const records: MailboxHealth[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await sendAbortable(
        this.#client,
        new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }),
        options.signal,
      ).catch((error: unknown) => {
        throw this.#error(prefix, `ListObjectsV2 failed: ${describeAwsError(error)}`, error);
      });
      const keys = (page.Contents ?? []).flatMap(({ Key }) =>
        Key?.endsWith('.json') && !Key.slice(prefix.length).includes('/') ? [Key] : [],
      );
      // A fleet's records are read LIST_READS_AT_ONCE at a time: 10,000 in seconds, not minutes.
      for (let start = 0; start < keys.length; start += LIST_READS_AT_ONCE) {
        const batch = keys.slice(start, start + LIST_READS_AT_ONCE);
        const read = await Promise.all(batch.map((key) => this.#get(key, options.signal)));
        batch.forEach((key, i) => {
          const bytes = read[i]?.bytes;
          if (bytes !== undefined)
            records.push(decodeHealth(key.slice(prefix.length, -'.json'.length), bytes));
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return records;
  }

  async #get(key: string, signal: AbortSignal | undefined) {
    try {
      const command = new GetObjectCommand({ Bucket: this.#bucket, Key: key });
      const response = await sendAbortable(this.#client, command, signal);
      const body = response.Body as { transformToByteArray(): Promise<Uint8Array> };
      const bytes = await body.transformToByteArray();
      if (response.ETag === undefined) throw new Error('GetObject answered without an ETag');
      return { bytes, etag: response.ETag };
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'NoSuchKey' || (httpStatusOf(error) === 404 && name !== 'NoSuchBucket')) return undefined;
      // Without s3:ListBucket S3 answers a missing key with 403, like a refused read: only a listing of
      // the key (to be granted for the `.health/` prefix) tells a mailbox's first run from a refusal.
      if (httpStatusOf(error) === 403 && (await s3KeyIsAbsent(this.#client, this.#bucket, key, signal)))
        return undefined;
      throw this.#error(key, `GetObject failed: ${describeAwsError(error)}`, error);
    }
  }

  #error(key: string, what: string, cause: unknown): HealthStoreError {
    return new HealthStoreError(`mailbox health s3://${this.#bucket}/${key}: ${what}`, { cause });
  }
}
