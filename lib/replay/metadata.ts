/**
 * What an S3 object keeps, in its user metadata, of the inputs its notification was built from and that
 * the object's bytes do not hold (docs/object-keys.md, "Object properties"): the retrieval time, the
 * processing time, the mailbox's host, username and `trustedAuthservId`, and the session's UTF-8 mode.
 * The header section is not kept: `replay` reads it back from the object through the same HeaderCollector
 * the pipeline used. Written by the S3 store (lib/adapters/s3-message-store.ts), read by `replay`, and by
 * the store itself when the key is already taken: the notification sent again takes the kept times.
 *
 * Values travel as HTTP headers, which carry ASCII only and lose leading and trailing blanks, so text
 * that may hold anything else (a username, an authserv-id) is percent-encoded (`encodeMetadataText`).
 * S3 takes 2 KB of user metadata in all: what the configuration can give back (`replay --config`) is
 * left out first when the rest needs the room (a UIDL of 1 KB).
 */
import { S3_USER_METADATA_MAX_BYTES } from '../aws-limits.ts';

/** The metadata names (without `x-amz-meta-`), lower case as S3 returns them. */
export const METADATA_NAMES = {
  retrievedAt: 'retrieved-at',
  processingTimeMillis: 'processing-ms',
  host: 'host',
  username: 'username',
  trustedAuthservId: 'trusted-authserv-id',
  utf8: 'utf8',
} as const;

export interface NotificationInputsToKeep {
  readonly retrievedAt: Date;
  readonly processingTimeMillis: number;
  readonly host: string;
  readonly username: string;
  readonly trustedAuthservId: string | readonly string[] | undefined;
  readonly utf8: boolean | undefined;
}

/**
 * What an object's metadata says; a field is undefined when the object does not keep it (stored before
 * these were kept, or left out for room). `trustedAuthservId` and `utf8` are boxed because undefined is
 * one of their kept values (the provider default; `pop3.utf8` left out).
 */
export interface KeptInputs {
  readonly retrievedAt?: Date;
  readonly processingTimeMillis?: number;
  readonly host?: string;
  readonly username?: string;
  readonly trustedAuthservId?: { readonly setting: string | readonly string[] | undefined };
  readonly utf8?: { readonly mode: boolean | undefined };
}

const SAFE_OCTET = /^[\x21-\x24\x26-\x7e]$/;

/** Percent-encodes every UTF-8 octet outside printable ASCII, the space and `%` itself (`%XX`). */
export function encodeMetadataText(text: string): string {
  let encoded = '';
  for (const octet of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(octet);
    encoded += SAFE_OCTET.test(char) ? char : `%${octet.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** Reverses `encodeMetadataText`; undefined for a value it cannot have written. */
export function decodeMetadataText(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** Bytes that S3 counts for these entries: every key and value, UTF-8. */
export function metadataBytes(entries: Readonly<Record<string, string>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(entries)) {
    bytes += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value, 'utf8');
  }
  return bytes;
}

/**
 * The entries to add to `existing` (the store's own: mailbox-id, sha256, uidl) so that the whole stays
 * within S3's limit. The times and the UTF-8 mode always fit (under 100 bytes); the settings the
 * configuration can give back are dropped, last first, until the rest fits.
 */
export function keptInputsMetadata(
  inputs: NotificationInputsToKeep,
  existing: Readonly<Record<string, string>>,
): Record<string, string> {
  const essential: Record<string, string> = {
    [METADATA_NAMES.retrievedAt]: inputs.retrievedAt.toISOString(),
    [METADATA_NAMES.processingTimeMillis]: String(inputs.processingTimeMillis),
  };
  if (inputs.utf8 !== undefined) essential[METADATA_NAMES.utf8] = String(inputs.utf8);
  const optional: [string, string][] = [
    [METADATA_NAMES.host, encodeMetadataText(inputs.host)],
    [METADATA_NAMES.username, encodeMetadataText(inputs.username)],
    [METADATA_NAMES.trustedAuthservId, encodeMetadataText(JSON.stringify(inputs.trustedAuthservId ?? null))],
  ];
  for (let kept = optional.length; kept >= 0; kept--) {
    const entries = { ...essential, ...Object.fromEntries(optional.slice(0, kept)) };
    if (metadataBytes({ ...existing, ...entries }) <= S3_USER_METADATA_MAX_BYTES) return entries;
  }
  return {};
}

/** Reads what `keptInputsMetadata` wrote; a value that does not parse counts as not kept. */
export function readKeptInputs(metadata: Readonly<Record<string, string | undefined>>): KeptInputs {
  const kept: {
    -readonly [K in keyof KeptInputs]: KeptInputs[K];
  } = {};
  const retrievedAt = metadata[METADATA_NAMES.retrievedAt];
  if (retrievedAt !== undefined && !Number.isNaN(Date.parse(retrievedAt))) {
    kept.retrievedAt = new Date(retrievedAt);
  }
  const processing = metadata[METADATA_NAMES.processingTimeMillis];
  if (processing !== undefined && /^\d{1,15}$/.test(processing))
    kept.processingTimeMillis = Number(processing);
  const host = decodeOptional(metadata[METADATA_NAMES.host]);
  if (host !== undefined) kept.host = host;
  const username = decodeOptional(metadata[METADATA_NAMES.username]);
  if (username !== undefined) kept.username = username;
  const trusted = trustedSettingOf(decodeOptional(metadata[METADATA_NAMES.trustedAuthservId]));
  if (trusted !== undefined) kept.trustedAuthservId = trusted;
  // Written whenever the times are, so with them its absence is a kept value: `pop3.utf8` left out.
  const utf8 = metadata[METADATA_NAMES.utf8];
  if (utf8 === 'true' || utf8 === 'false') kept.utf8 = { mode: utf8 === 'true' };
  else if (kept.retrievedAt !== undefined && utf8 === undefined) kept.utf8 = { mode: undefined };
  return kept;
}

function decodeOptional(value: string | undefined): string | undefined {
  return value === undefined ? undefined : decodeMetadataText(value);
}

function trustedSettingOf(json: string | undefined): KeptInputs['trustedAuthservId'] {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (value === null) return { setting: undefined };
  if (typeof value === 'string') return { setting: value };
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) {
    return { setting: value as string[] };
  }
  return undefined;
}
