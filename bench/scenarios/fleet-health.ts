/**
 * The health records the poll function keeps in the fleet's bucket (`<keyPrefix>.health/<mailboxId>.json`,
 * lib/adapters/s3-health-store.ts): listed before and after a fleet run, so the report can say that every
 * polled mailbox has one and how many the run wrote (a record is written only when it changed: the first
 * run writes them all, a run over unchanged healthy mailboxes none).
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { healthPrefixOf } from '../../lib/adapters/s3-health-store.ts';

/** Key → ETag of every health record under the prefix. */
export async function listHealthRecords(
  s3: S3Client,
  bucket: string,
  keyPrefix: string,
): Promise<Map<string, string>> {
  const records = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: healthPrefixOf(keyPrefix),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const object of page.Contents ?? []) records.set(object.Key!, object.ETag ?? '');
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return records;
}

/** Records after a run, and how many of them it created or changed. */
export function healthWrites(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): { records: number; written: number } {
  const written = [...after].filter(([key, etag]) => before.get(key) !== etag).length;
  return { records: after.size, written };
}
