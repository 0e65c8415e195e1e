/** Which messages a run takes: per-run message and byte limits, oversized messages left on the server. */
import { describe, expect, test } from 'vitest';
import { planRetrievals } from '../../../lib/pipeline/retrieval-plan.ts';

const limits = { maxMessagesPerRun: 3, maxBytesPerRun: 1000, maxMessageBytes: 600 };
const listing = (...sizes: number[]) => sizes.map((octets, i) => ({ msg: i + 1, octets }));

describe('planRetrievals', () => {
  test('takes messages in LIST order up to the per-run message limit; the rest waits', () => {
    const plan = planRetrievals(listing(10, 10, 10, 10, 10), undefined, limits);
    expect(plan.retrieve.map((m) => m.msg)).toEqual([1, 2, 3]);
    expect(plan.deferred).toBe(2);
  });

  test('stops adding at the per-run byte limit, but never leaves the first message behind for it', () => {
    expect(planRetrievals(listing(500, 400, 200), undefined, limits).retrieve.map((m) => m.msg)).toEqual([
      1, 2,
    ]);
    const alone = planRetrievals(listing(590), undefined, { ...limits, maxBytesPerRun: 100 });
    expect(alone.retrieve.map((m) => m.msg)).toEqual([1]);
  });

  test('an oversized message is reported and skipped; the ones after it still come', () => {
    const plan = planRetrievals(
      listing(100, 601, 100),
      [
        { msg: 1, uidl: 'a' },
        { msg: 2, uidl: 'b' },
        { msg: 3, uidl: 'c' },
      ],
      limits,
    );
    expect(plan.retrieve).toEqual([
      { msg: 1, uidl: 'a', listedSize: 100 },
      { msg: 3, uidl: 'c', listedSize: 100 },
    ]);
    expect(plan.oversized).toEqual([expect.objectContaining({ msg: 2, uidl: 'b', reason: 'oversized' })]);
  });
});
