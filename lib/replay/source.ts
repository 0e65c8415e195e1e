/**
 * What a replay reads stored objects from (lib/replay/replay.ts): S3 (s3-source.ts), or an in-memory
 * bucket in the tests. Its own module, so the replay loop sees no SDK.
 */
import type { HeaderSection, StoredObject } from './rebuild.ts';

export interface ListedObject {
  readonly key: string;
  readonly lastModified: Date | undefined;
}

export interface ReplaySource {
  /** The bucket, as the notification's `receipt.action.bucketName` names it. */
  readonly bucket: string;
  /** Pages of objects under `prefix` after `startAfter`, in key order. */
  list(prefix: string, startAfter: string | undefined, signal?: AbortSignal): AsyncIterable<ListedObject[]>;
  head(key: string, signal?: AbortSignal): Promise<StoredObject>;
  headerSection(object: StoredObject, signal?: AbortSignal): Promise<HeaderSection>;
}
