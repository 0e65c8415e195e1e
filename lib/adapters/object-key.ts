/**
 * Object keys shared by the S3 and local stores (see docs/object-keys.md).
 *
 *   <prefix><mailboxId>/uidl/<enc(uidl)>/<sha256hex>.eml   message with a UIDL
 *   <prefix><mailboxId>/sha256/<sha256hex>.eml              server without UIDL
 *
 *   <prefix><mailboxId>/uidl-sha256/<sha256hex(uidl)>/<sha256hex>.eml   UIDL outside RFC 1939 (see below)
 *
 * The key is a pure function of (mailbox, UIDL, content): a re-poll after an interrupted session writes the
 * same key with the same bytes (no duplicate object), and a different message under a reused UIDL gets a
 * different key, so it can never overwrite an earlier one.
 */
import { createHash } from 'node:crypto';
import { MAX_UIDL_OCTETS } from '../pop3/limits.ts';

/** S3 limit on the UTF-8 length of an object key. */
export const MAX_OBJECT_KEY_BYTES = 1024;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const UNRESERVED_OCTET = /^[A-Za-z0-9._-]$/;
const UIDL_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Percent-encodes every octet of the UTF-8 form outside `[A-Za-z0-9._-]` as `%XX` (upper-case hex).
 * `/` and `%` are encoded too, so the result is one path segment and `decodeKeySegment` reverses it.
 * A segment that would be `.` or `..` has its dots encoded (`%2E`): tools that treat keys as paths (the
 * local store, `aws s3 sync`, S3 consoles, URL normalisation) would otherwise read it as "this folder" or
 * "the folder above", and a UIDL of `..` would name an object outside its UIDL folder.
 */
export function encodeKeySegment(value: string): string {
  if (value === '.' || value === '..') return value.replaceAll('.', '%2E');
  let encoded = '';
  for (const octet of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(octet);
    encoded += UNRESERVED_OCTET.test(char) ? char : `%${octet.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** True for a unique-id as RFC 1939 section 7 defines it: 1 to 70 characters in 0x21-0x7E. */
export function isRfc1939Uidl(uidl: string): boolean {
  return uidl.length <= MAX_UIDL_OCTETS && UIDL_CHARACTERS.test(uidl);
}

/** Reverses `encodeKeySegment`. */
export function decodeKeySegment(segment: string): string {
  const octets: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '%') {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`malformed escape at offset ${i} of a key segment`);
      octets.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      octets.push(segment.charCodeAt(i));
    }
  }
  return Buffer.from(octets).toString('utf8');
}

/**
 * The folder part of the key (ends with `/`): everything that is known before the body has been read.
 * A UIDL outside RFC 1939 section 7 (longer than 70 characters, or with characters outside 0x21-0x7E,
 * which some servers send) or too long for the key limit is replaced by its SHA-256 under
 * `uidl-sha256/`: still deterministic, bounded in length, and free of bytes that tools mangle.
 */
export function objectKeyFolderFor(prefix: string, mailboxId: string, uidl: string | undefined): string {
  if (uidl === undefined) return `${prefix}${mailboxId}/sha256/`;
  const folder = `${prefix}${mailboxId}/uidl/${encodeKeySegment(uidl)}/`;
  const longestName = 64 + '.eml'.length;
  if (isRfc1939Uidl(uidl) && Buffer.byteLength(folder, 'utf8') + longestName <= MAX_OBJECT_KEY_BYTES) {
    return folder;
  }
  const uidlHash = createHash('sha256').update(uidl, 'utf8').digest('hex');
  return `${prefix}${mailboxId}/uidl-sha256/${uidlHash}/`;
}

/** The object key of one message; `sha256` is the lowercase hex SHA-256 of its bytes. */
export function objectKeyFor(
  prefix: string,
  mailboxId: string,
  uidl: string | undefined,
  sha256: string,
): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a lowercase hex SHA-256: ${JSON.stringify(sha256)}`);
  return `${objectKeyFolderFor(prefix, mailboxId, uidl)}${sha256}.eml`;
}
