/** S3's SHA-256 checksums as the store reads them: full-object, composite (`-N`), and our part digests. */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareChecksum,
  compositeDigest,
  PartDigests,
  parseReportedChecksum,
} from '../../lib/adapters/s3-checksums.ts';

const digest = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

/** The parts @aws-sdk/lib-storage sends: `partSize` each, the rest in the last, never an empty last part. */
function slices(bytes: Buffer, partSize: number): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += partSize) parts.push(bytes.subarray(at, at + partSize));
  return parts;
}

describe('PartDigests', () => {
  it('digests the same parts as lib-storage cuts, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 1200 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        (length, partSize, chunkSizes) => {
          const bytes = randomBytes(length);
          const parts = new PartDigests(partSize);
          for (let at = 0, i = 0; at < bytes.length; i++) {
            const size = chunkSizes[i % chunkSizes.length]!;
            parts.update(bytes.subarray(at, at + size));
            at += size;
          }
          expect(parts.finish()).toEqual(slices(bytes, partSize).map(digest));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ends an exact multiple of the part size without an empty last part', () => {
    const bytes = randomBytes(3000);
    const parts = new PartDigests(1000);
    parts.update(bytes);
    expect(parts.finish()).toHaveLength(3);
  });
});

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
