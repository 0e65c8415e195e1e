/**
 * coalesceReads (lib/adapters/coalescing-secret-source.ts): concurrent reads of one secret share one
 * request; nothing is kept once it settles; a write cuts off the read in flight.
 */
import { describe, expect, it } from 'vitest';
import { coalesceReads } from '../../../lib/adapters/coalescing-secret-source.ts';
import type { SecretSource } from '../../../lib/adapters/credentials.ts';

/** A source whose reads answer only when the test says so, with the value current at that moment. */
function gatedSource() {
  const values = new Map<string, string>();
  const reads: { id: string; answer: () => void; fail: (error: Error) => void }[] = [];
  const source: SecretSource = {
    getSecretString: (id) =>
      new Promise((resolve, reject) => {
        const value = values.get(id) ?? '';
        reads.push({ id, answer: () => resolve(value), fail: reject });
      }),
    putSecretString: async (id, text) => {
      values.set(id, text);
    },
  };
  return { source, values, reads };
}

describe('coalesceReads', () => {
  it('concurrent reads of one secret share one request; other secrets get their own', async () => {
    const { source, values, reads } = gatedSource();
    values.set('a', 'A').set('b', 'B');
    const coalesced = coalesceReads(source);
    const pending = [
      ...Array.from({ length: 5 }, () => coalesced.getSecretString('a')),
      coalesced.getSecretString('b'),
    ];
    expect(reads.map((read) => read.id)).toEqual(['a', 'b']);
    for (const read of reads) read.answer();
    expect(await Promise.all(pending)).toEqual(['A', 'A', 'A', 'A', 'A', 'B']);
  });

  it('nothing is kept after a read settles, nor after it fails', async () => {
    const { source, values, reads } = gatedSource();
    values.set('a', 'A');
    const coalesced = coalesceReads(source);
    const failed = coalesced.getSecretString('a');
    reads[0]!.fail(new Error('throttled'));
    await expect(failed).rejects.toThrow('throttled');
    const next = coalesced.getSecretString('a');
    expect(reads).toHaveLength(2);
    reads[1]!.answer();
    expect(await next).toBe('A');
    const again = coalesced.getSecretString('a');
    expect(reads).toHaveLength(3);
    reads[2]!.answer();
    await again;
  });

  it('a read that starts after a write is not answered by a request sent before it', async () => {
    const { source, values, reads } = gatedSource();
    values.set('token', 'old');
    const coalesced = coalesceReads(source);
    const before = coalesced.getSecretString('token');
    await coalesced.putSecretString!('token', 'new');
    const after = coalesced.getSecretString('token');
    expect(reads).toHaveLength(2);
    for (const read of reads) read.answer();
    expect([await before, await after]).toEqual(['old', 'new']);
  });
});
