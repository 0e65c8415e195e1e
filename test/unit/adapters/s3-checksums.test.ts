/** S3's SHA-256 checksums as the store reads them: full-object, composite (`-N`), and our part digests. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  compareChecksum,
  compositeDigest,
  parseReportedChecksum,
} from '../../../lib/adapters/s3-checksums.ts';

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

/** Parts as a multipart upload cuts them: `partSize` each, the rest in the last. */
function slices(bytes: Buffer, partSize: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += partSize) parts.push(bytes.subarray(at, at + partSize));
  return parts;
}

describe('reading and comparing what S3 reports', () => {
  const bytes = randomBytes(2500);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const partDigests = slices(bytes, 1000).map(digest);
  const full = createHash('sha256').update(bytes).digest('base64');
  const composite = compositeDigest(partDigests);

  it('tells a full-object checksum from a composite one', () => {
    expect(parseReportedChecksum(full, 'FULL_OBJECT')).toEqual({
      digest: full,
      parts: undefined,
      composite: false,
    });
    expect(parseReportedChecksum(`${composite}-3`, undefined)).toEqual({
      digest: composite,
      parts: 3,
      composite: true,
    });
    expect(parseReportedChecksum(composite, 'COMPOSITE')).toMatchObject({ composite: true });
    expect(parseReportedChecksum(undefined, undefined)).toBeUndefined();
  });

  it.each([
    ['a matching full-object checksum', full, 'FULL_OBJECT', 'match'],
    [
      'a different full-object checksum',
      digest(Buffer.from('x')).toString('base64'),
      'FULL_OBJECT',
      'mismatch',
    ],
    ['a matching composite', `${composite}-3`, 'COMPOSITE', 'match'],
    ['a composite of other parts', `${compositeDigest(partDigests.slice(1))}-3`, 'COMPOSITE', 'mismatch'],
    ['a composite with another part count', `${composite}-4`, 'COMPOSITE', 'unknown'],
  ] as const)('compares %s', (_what, value, type, verdict) => {
    const reported = parseReportedChecksum(value, type)!;
    expect(compareChecksum(reported, { sha256, partDigests })).toBe(verdict);
  });

  it('cannot compare a composite without our part digests (an object written by another tool)', () => {
    expect(compareChecksum(parseReportedChecksum(`${composite}-3`, 'COMPOSITE')!, { sha256 })).toBe(
      'unknown',
    );
  });
});
