/** Which messages a run takes: per-run message and byte limits, oversized messages left on the server. */
import { describe, expect, test } from 'vitest';
import { InFlightBudget } from '../../lib/pipeline/in-flight-budget.ts';
import { planRetrievals } from '../../lib/pipeline/retrieval-plan.ts';

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

describe('InFlightBudget', () => {
  test('waits while the message or byte budget is spent, and lets waiters in LIST order as it frees', async () => {
    const budget = new InFlightBudget(2, 100);
    await budget.acquire(60);
    await budget.acquire(30);
    const order: string[] = [];
    const third = budget.acquire(20).then(() => order.push('third'));
    const fourth = budget.acquire(10).then(() => order.push('fourth'));
    await Promise.resolve();
    expect(order).toEqual([]);
    budget.release(60);
    await third;
    expect(order).toEqual(['third']);
    budget.release(30);
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
  });

  test('a message larger than the whole byte budget still runs, alone', async () => {
    const budget = new InFlightBudget(4, 100);
    await budget.acquire(500);
    expect(budget.messages).toBe(1);
    let second = false;
    const waiting = budget.acquire(1).then(() => {
      second = true;
    });
    await Promise.resolve();
    expect(second).toBe(false);
    budget.release(500);
    await waiting;
    expect(second).toBe(true);
  });
});
