/**
 * The conditional write of a small object that a run read and now replaces (keep mode's state, a mailbox's
 * health record): `If-None-Match: *` for the first write, `If-Match` with the ETag read for every later
 * one, so two runs can never overwrite each other blindly. S3 refuses the loser with 412 (409 while a
 * concurrent conditional write to the same key is still settling); the caller turns that into its own
 * StateConflictError. The body's SHA-256 goes along, so S3 refuses bytes that changed on the way.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { sendAbortable } from './abortable-send.ts';
import { httpStatusOf } from './aws-common.ts';

export interface VersionedWrite {
  readonly bucket: string;
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType: string;
  /** The ETag the run read; undefined when it found no object (then only a first write may succeed). */
  readonly expectedVersion: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The new ETag, or the HTTP status with which S3 said another writer came first. Other failures throw. */
export async function putIfVersion(
  client: S3Client,
  write: VersionedWrite,
): Promise<{ readonly etag: string } | { readonly conflict: number; readonly error: unknown }> {
  const command = new PutObjectCommand({
    Bucket: write.bucket,
    Key: write.key,
    Body: write.body,
    ContentType: write.contentType,
    ChecksumSHA256: createHash('sha256').update(write.body).digest('base64'),
    ...(write.expectedVersion === undefined ? { IfNoneMatch: '*' } : { IfMatch: write.expectedVersion }),
  });
  try {
    const response = await sendAbortable(client, command, write.signal);
    if (response.ETag === undefined) throw new Error('PutObject answered without an ETag');
    return { etag: response.ETag };
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 412 || status === 409) return { conflict: status, error };
    throw error;
  }
}
