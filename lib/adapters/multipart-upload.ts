/**
 * A multipart upload of a stream of unknown length, part by part, for the S3 store's large messages.
 *
 * Written here rather than taken from @aws-sdk/lib-storage for three reasons the store depends on:
 * - Memory: one part buffer is filled by copying the chunks in (no concatenation); at most `queueSize` parts
 *   are in flight besides it. lib-storage gathers each part as a list of chunks, concatenates it (a second
 *   copy), and keeps the rest of the concatenated buffer alive as the start of the next part.
 * - One SHA-256 per part: each part is hashed once, here; the digest goes to S3 as the part's
 *   `ChecksumSHA256` (so S3 refuses a part that arrives different), becomes its signed payload hash (see
 *   s3-client.ts), and is kept for checking S3's composite checksum of the whole upload. With lib-storage
 *   the SDK hashed each part for the checksum, the signer hashed it again, and the store a third time.
 * - The run's deadline: every request carries its signal, and a body that stalls gives way to it (see
 *   nextUnlessAborted). lib-storage calls `client.send(command)` itself, so its requests carried the
 *   deadline only through a wrapped client.
 *
 * A failure aborts the upload (AbortMultipartUpload) once the parts in flight have settled, unless the
 * deadline has passed: then the bucket's lifecycle rule removes the incomplete upload.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sendAbortable } from './abortable-send.ts';

/** S3 allows at most 10,000 parts per upload. */
export const MAX_PARTS = 10_000;

export interface MultipartUploadRequest {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly partSize: number;
  /** Parts sent at the same time, besides the one being filled. */
  readonly queueSize: number;
  readonly signal: AbortSignal | undefined;
}

export interface UploadedObject {
  readonly etag: string | undefined;
  /** What S3 reported for the whole upload: a composite checksum `<base64>-<parts>`, if any. */
  readonly checksumSha256: string | undefined;
  readonly checksumType: string | undefined;
  /** The raw SHA-256 of each part, in order, as sent. */
  readonly partDigests: readonly Buffer[];
}

export async function uploadInParts(
  request: MultipartUploadRequest,
  body: AsyncIterable<Buffer>,
): Promise<UploadedObject> {
  const { client, bucket: Bucket, key: Key, signal } = request;
  const created = await sendAbortable(
    client,
    new CreateMultipartUploadCommand({
      Bucket,
      Key,
      ContentType: request.contentType,
      ChecksumAlgorithm: 'SHA256',
    }),
    signal,
  );
  const UploadId = created.UploadId;
  if (UploadId === undefined) throw new Error('CreateMultipartUpload answered without an UploadId');

  const completed: CompletedPart[] = [];
  const digests: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const send = (partNumber: number, bytes: Buffer) => {
    const digest = createHash('sha256').update(bytes).digest();
    digests[partNumber - 1] = digest;
    const ChecksumSHA256 = digest.toString('base64');
    const command = new UploadPartCommand({
      Bucket,
      Key,
      UploadId,
      PartNumber: partNumber,
      Body: bytes,
      ContentLength: bytes.length,
      ChecksumSHA256,
    });
    const sent = sendAbortable(client, command, signal).then(
      (reply) => {
        // S3 wants each part's checksum back in CompleteMultipartUpload, as it reported it.
        const checksum = reply.ChecksumSHA256 === undefined ? {} : { ChecksumSHA256: reply.ChecksumSHA256 };
        completed[partNumber - 1] = { PartNumber: partNumber, ETag: reply.ETag, ...checksum };
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = sent.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const chunks = body[Symbol.asyncIterator]();
  try {
    let part = Buffer.allocUnsafe(request.partSize);
    let filled = 0;
    let partNumber = 0;
    for (;;) {
      // The body waits on the POP3 server: at the deadline, stop waiting (the caller abandons the body).
      const next = await nextUnlessAborted(chunks, signal);
      if (next.done) break;
      const chunk = next.value;
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(chunk.length - at, part.length - filled);
        chunk.copy(part, filled, at, at + take);
        filled += take;
        at += take;
        if (filled < part.length) continue;
        if (++partNumber > MAX_PARTS) throw new Error(`the message needs more than ${MAX_PARTS} parts`);
        send(partNumber, part);
        while (inFlight.size >= request.queueSize && failure === undefined) await Promise.race(inFlight);
        if (failure !== undefined) throw failure.error;
        part = Buffer.allocUnsafe(request.partSize);
        filled = 0;
      }
    }
    // The last part holds the rest; a body that ended on a part boundary has no empty part after it.
    if (filled > 0 || partNumber === 0) send(++partNumber, part.subarray(0, filled));
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
    const done = await sendAbortable(
      client,
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: completed } }),
      signal,
    );
    return {
      etag: done.ETag,
      checksumSha256: done.ChecksumSHA256,
      checksumType: done.ChecksumType,
      partDigests: digests,
    };
  } catch (error) {
    await Promise.allSettled(inFlight);
    if (!signal?.aborted) {
      const abort = new AbortMultipartUploadCommand({ Bucket, Key, UploadId });
      await sendAbortable(client, abort, undefined).catch(() => undefined); // the lifecycle rule is the backstop
    }
    throw error;
  }
}

/**
 * The iterator's next result, or a rejection with the signal's reason once it aborts, whichever is first.
 * One listener per read, removed when the read settles: racing every read against one long-lived
 * "aborted" promise would keep each read's result (its chunk) reachable from that promise until the
 * upload ends, holding the whole message in memory.
 */
function nextUnlessAborted<T>(
  chunks: AsyncIterator<T>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T>> {
  if (signal === undefined) return chunks.next();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal.removeEventListener('abort', onAbort);
    chunks.next().then(
      (result) => {
        settle();
        resolve(result);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
