/**
 * SHA-256 checksums the way S3 reports them, so the store can compare what S3 says it holds with what we
 * read from the POP3 server.
 *
 * What S3 returns (x-amz-checksum-sha256, base64; `ChecksumType` since 2025):
 * - PutObject with `ChecksumSHA256`, and CopyObject with `ChecksumAlgorithm: SHA256` (S3 recomputes the
 *   checksum of the copy): the SHA-256 of the whole object (FULL_OBJECT).
 * - A multipart upload with SHA-256 part checksums: a COMPOSITE checksum, the SHA-256 of the concatenated
 *   raw part digests followed by `-<number of parts>`. SHA-256 has no full-object type for multipart
 *   uploads (only the CRC algorithms do), so it can be checked only by someone who knows the part
 *   boundaries: we do for our own uploads (lib/adapters/multipart-upload.ts), not for objects written by others.
 * - An object written without a SHA-256 checksum (another tool, S3's default CRC64NVME, an emulator):
 *   no SHA-256 at all.
 */
import { createHash } from 'node:crypto';

/** A checksum as S3 reported it, parsed: the base64 digest and, for a composite one, the part count. */
export interface ReportedChecksum {
  readonly digest: string;
  readonly parts: number | undefined;
  readonly composite: boolean;
}

export function parseReportedChecksum(
  value: string | undefined,
  type: string | undefined,
): ReportedChecksum | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^([A-Za-z0-9+/=]+)(?:-(\d+))?$/.exec(value);
  if (match === null) return { digest: value, parts: undefined, composite: type === 'COMPOSITE' };
  const parts = match[2] === undefined ? undefined : Number(match[2]);
  return { digest: match[1]!, parts, composite: parts !== undefined || type === 'COMPOSITE' };
}

/** What we know of our own bytes: the whole-object SHA-256 and, for our multipart uploads, the parts. */
export interface ExpectedChecksum {
  /** Lowercase hex SHA-256 of the whole message. */
  readonly sha256: string;
  /** Raw SHA-256 digests of the parts, in order, when we uploaded them ourselves. */
  readonly partDigests?: readonly Buffer[];
}

export type ChecksumVerdict = 'match' | 'mismatch' | 'unknown';

/** Compares a reported checksum with ours; 'unknown' when it cannot tell (a composite of unknown parts). */
export function compareChecksum(reported: ReportedChecksum, expected: ExpectedChecksum): ChecksumVerdict {
  if (!reported.composite) return reported.digest === hexToBase64(expected.sha256) ? 'match' : 'mismatch';
  const parts = expected.partDigests;
  if (parts === undefined || (reported.parts !== undefined && reported.parts !== parts.length)) {
    return 'unknown';
  }
  return reported.digest === compositeDigest(parts) ? 'match' : 'mismatch';
}

/** SHA-256 of the concatenated raw part digests, base64: S3's composite checksum without its suffix. */
export function compositeDigest(partDigests: readonly Buffer[]): string {
  return createHash('sha256').update(Buffer.concat(partDigests)).digest('base64');
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}
