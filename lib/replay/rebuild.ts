/**
 * The NotificationInput (lib/notification/build.ts) of a stored object, from what the object keeps:
 * its bytes (size, SHA-256, the header section read back through HeaderCollector), its key (mailbox,
 * UIDL) and its metadata (lib/replay/metadata.ts). For an object stored since the metadata keeps every
 * input, the notification built from it is the original, byte for byte. For an older one, `missing`
 * names each input it did not keep and what stands in for it (docs/replay.md):
 *
 * - `retrievedAt`: the object's LastModified (its write, so a little after the retrieval started);
 * - `processingTimeMillis`: 0;
 * - `host`, `username`, `trustedAuthservId`: the mailbox's settings in `replay --config`, when given;
 * - `utf8`: left out of the notification (not known).
 */
import { decodeKeySegment, objectKeyFor } from '../adapters/object-key.ts';
import type { NotificationInput } from '../notification/build.ts';
import { readKeptInputs } from './metadata.ts';

/** A mailbox's settings from `replay --config`, for objects that do not keep them. */
export interface MailboxSettings {
  readonly host: string;
  readonly username: string;
  readonly trustedAuthservId: string | readonly string[] | undefined;
}

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  readonly lastModified: Date | undefined;
  /** User metadata, names lower case without `x-amz-meta-`. */
  readonly metadata: Readonly<Record<string, string | undefined>>;
}

export interface HeaderSection {
  readonly headerBytes: Buffer;
  readonly truncated: boolean;
}

export type Rebuilt =
  | { readonly kind: 'input'; readonly input: NotificationInput; readonly missing: readonly string[] }
  /** Not a message this store wrote (no mailbox id, a key that does not match it), or too little kept. */
  | { readonly kind: 'unusable'; readonly problem: string };

/** When the message was retrieved, for the time range: kept, else the object's LastModified. */
export function retrievalTimeOf(object: StoredObject): Date | undefined {
  return readKeptInputs(object.metadata).retrievedAt ?? object.lastModified;
}

export function rebuildInput(
  object: StoredObject,
  header: HeaderSection,
  where: { readonly bucket: string; readonly keyPrefix: string },
  settings: ReadonlyMap<string, MailboxSettings> | undefined,
): Rebuilt {
  const mailboxId = object.metadata['mailbox-id'];
  const sha256 = object.metadata.sha256;
  if (mailboxId === undefined || sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) {
    return { kind: 'unusable', problem: 'no mailbox-id and sha256 metadata: not an object the store wrote' };
  }
  const uidl = uidlOf(object, mailboxId, sha256, where.keyPrefix);
  if (uidl === false) {
    return {
      kind: 'unusable',
      problem: `the key is not the store's key for this object under key prefix "${where.keyPrefix}"`,
    };
  }
  const kept = readKeptInputs(object.metadata);
  const setting = settings?.get(mailboxId);
  const missing: string[] = [];
  const host = kept.host ?? setting?.host;
  const username = kept.username ?? setting?.username;
  if (host === undefined || username === undefined) {
    return { kind: 'unusable', problem: `host and username not kept: name mailbox ${mailboxId} in --config` };
  }
  if (kept.host === undefined) missing.push('host (from --config)');
  if (kept.username === undefined) missing.push('username (from --config)');
  if (kept.trustedAuthservId === undefined) missing.push('trustedAuthservId (from --config)');
  const retrievedAt = kept.retrievedAt ?? object.lastModified;
  if (retrievedAt === undefined)
    return { kind: 'unusable', problem: 'neither retrieved-at nor LastModified' };
  if (kept.retrievedAt === undefined) missing.push('retrievedAt (LastModified instead)');
  if (kept.processingTimeMillis === undefined) missing.push('processingTimeMillis (0 instead)');
  if (kept.utf8 === undefined) missing.push('utf8 (left out)');
  const utf8 = kept.utf8?.mode;
  const input: NotificationInput = {
    mailboxId,
    host,
    username,
    uidl,
    size: object.size,
    sha256,
    retrievedAt,
    processingTimeMillis: kept.processingTimeMillis ?? 0,
    bucketName: where.bucket,
    objectKey: object.key,
    headerBytes: header.headerBytes,
    headerSectionTruncated: header.truncated,
    trustedAuthservId:
      kept.trustedAuthservId === undefined ? setting?.trustedAuthservId : kept.trustedAuthservId.setting,
    ...(utf8 === undefined ? {} : { utf8 }),
  };
  return { kind: 'input', input, missing };
}

/**
 * The message's UIDL: the one candidate (from the key's UIDL folder, or the `uidl` metadata as written
 * or decoded) for which the store's own key function gives this very key. The key is authoritative
 * (docs/object-keys.md); false when no candidate gives it.
 */
function uidlOf(
  object: StoredObject,
  mailboxId: string,
  sha256: string,
  keyPrefix: string,
): string | undefined | false {
  const candidates: (string | undefined)[] = [undefined];
  const folder = /\/uidl\/([^/]+)\/[0-9a-f]{64}\.eml$/.exec(object.key)?.[1];
  if (folder !== undefined) candidates.push(decodedOrUndefined(folder));
  const kept = object.metadata.uidl;
  if (kept !== undefined) candidates.push(kept, decodedOrUndefined(kept));
  for (const uidl of candidates) {
    if (objectKeyFor(keyPrefix, mailboxId, uidl, sha256) === object.key) return uidl;
  }
  return false;
}

function decodedOrUndefined(segment: string): string | undefined {
  try {
    return decodeKeySegment(segment);
  } catch {
    return undefined;
  }
}
