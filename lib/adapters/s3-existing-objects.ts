/**
 * What the S3 store learns about objects already in the bucket: their stored checksum (HeadObject with
 * ChecksumMode ENABLED) and, when that cannot settle it, their bytes read back. Used when a conditional
 * write finds the key taken (412) and to check a temporary upload. See s3-checksums.ts for what S3 reports.
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sendAbortable } from './abortable-send.ts';
import { describeAwsError, httpStatusOf } from './aws-common.ts';
import { S3ObjectMismatchError, storeError } from './errors.ts';
import { compareChecksum, type ExpectedChecksum, parseReportedChecksum } from './s3-checksums.ts';

export class ExistingObjects {
  readonly #client: S3Client;
  readonly #bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.#client = client;
    this.#bucket = bucket;
  }

  /**
   * The key is taken (412): it counts as stored only if the object there is this message. Its stored
   * SHA-256 decides; without a comparable one (none, or a composite of unknown parts) its bytes are read
   * back and hashed. Throws S3ObjectMismatchError when it is another message. Resolves with the object's
   * user metadata, which the same HeadObject returned (names lower case, without `x-amz-meta-`): what the
   * run that first stored it kept of its notification.
   */
  async verifyExisting(
    key: string,
    expected: ExpectedChecksum,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<Readonly<Record<string, string>>> {
    const head = await this.head(key, signal);
    const metadata = head.Metadata ?? {};
    const reported = parseReportedChecksum(head.ChecksumSHA256, head.ChecksumType);
    const verdict = reported === undefined ? 'unknown' : compareChecksum(reported, expected);
    if (verdict === 'match') return metadata;
    if (verdict === 'mismatch') {
      throw new S3ObjectMismatchError(this.#bucket, key, `its stored SHA-256 is ${reported?.digest}`);
    }
    const actual = await this.#hashObject(key, signal);
    if (actual.sha256 !== expected.sha256 || actual.size !== size) {
      const found = `its ${actual.size} bytes hash to ${actual.sha256}`;
      throw new S3ObjectMismatchError(this.#bucket, key, found);
    }
    return metadata;
  }

  /** HeadObject with the stored checksum; 404 and every other failure throw S3MessageStoreError. */
  async head(key: string, signal: AbortSignal | undefined): Promise<HeadObjectCommandOutput> {
    try {
      const command = new HeadObjectCommand({ Bucket: this.#bucket, Key: key, ChecksumMode: 'ENABLED' });
      return await sendAbortable(this.#client, command, signal);
    } catch (error) {
      const hint =
        httpStatusOf(error) === 403
          ? '; checking an object needs s3:GetObject on the message keys (HeadObject), grant it to this role'
          : '';
      throw storeError(this.#bucket, key, `HeadObject failed: ${describeAwsError(error)}${hint}`, error);
    }
  }

  /** SHA-256 and size of an object's bytes, read back as a stream (memory stays bounded). */
  async #hashObject(key: string, signal: AbortSignal | undefined): Promise<{ sha256: string; size: number }> {
    try {
      const command = new GetObjectCommand({ Bucket: this.#bucket, Key: key });
      const reply = await sendAbortable(this.#client, command, signal);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of reply.Body as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        size += chunk.length;
      }
      return { sha256: hash.digest('hex'), size };
    } catch (error) {
      throw storeError(this.#bucket, key, `GetObject failed: ${describeAwsError(error)}`, error);
    }
  }
}
