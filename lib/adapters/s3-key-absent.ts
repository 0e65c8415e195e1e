/**
 * Tells a missing key from a refused read where S3 cannot: without s3:ListBucket on the bucket, GetObject
 * answers a key that does not exist with 403, exactly as it answers a read it refuses. The keep-mode state
 * and the health records are granted ListBucket for their own prefix only (infra/grants.ts), so a listing
 * of exactly that key settles it: a mailbox's first run reads "none yet", not "refused".
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { sendAbortable } from './abortable-send.ts';

/** True only when a listing of exactly this key succeeds and shows nothing; false on any doubt. */
export async function s3KeyIsAbsent(
  client: S3Client,
  bucket: string,
  key: string,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    const command = new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 });
    const listed = await sendAbortable(client, command, signal);
    return (listed.KeyCount ?? listed.Contents?.length ?? 0) === 0;
  } catch {
    return false; // the caller reports the 403 of its GetObject
  }
}
