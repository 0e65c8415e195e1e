/**
 * The in-flight budget: messages start in LIST order within a message and byte budget; octets are charged
 * as they arrive, so a server's LIST sizes cannot talk it into holding more; and the oldest message never
 * waits, so one message larger than the whole budget still flows.
 */
import { describe, expect, test } from 'vitest';
import { InFlightBudget } from '../../../lib/pipeline/in-flight-budget.ts';

/** Whether `promise` has settled after the microtasks queued so far ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('InFlightBudget: starting messages', () => {
  test('waits while the message or byte budget is spent, and lets waiters in LIST order as it frees', async () => {
    const budget = new InFlightBudget(2, 100);
    const first = await budget.admit(60);
    const second = await budget.admit(30);
    const order: string[] = [];
    const third = budget.admit(20).then((charge) => order.push('third') && charge);
    const fourth = budget.admit(10).then((charge) => order.push('fourth') && charge);
    expect(await settled(third)).toBe(false);
    first.release();
    await third;
    expect(order).toEqual(['third']);
    second.release();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
  });

  test('a message listed larger than the whole byte budget still runs, alone', async () => {
    const budget = new InFlightBudget(4, 100);
    const big = await budget.admit(500);
    expect(budget.messages).toBe(1);
    const next = budget.admit(1);
    expect(await settled(next)).toBe(false);
    big.release();
    expect(await settled(next)).toBe(true);
  });
});

describe('InFlightBudget: octets charged as they arrive', () => {
  test('octets beyond the LIST size are charged, and keep further messages from starting', async () => {
    const budget = new InFlightBudget(64, 100);
    const liar = await budget.admit(1); // listed as 1 octet
    expect(liar.received(1)).toBeUndefined();
    expect(budget.bytes).toBe(1);
    expect(liar.received(499)).toBeUndefined(); // the oldest never waits
    expect(budget.bytes).toBe(500);
    const next = budget.admit(1);
    expect(await settled(next)).toBe(false);
    liar.release();
    expect(await settled(next)).toBe(true);
    expect(budget.bytes).toBe(1); // only the next message's reservation
  });

  test('received octets within the LIST size cost nothing more than the reservation', async () => {
    const budget = new InFlightBudget(64, 100);
    const honest = await budget.admit(40);
    honest.received(25);
    honest.received(15);
    expect(budget.bytes).toBe(40);
    honest.received(5);
    expect(budget.bytes).toBe(45);
  });

  test('a younger message over the budget waits until an older one is released', async () => {
    const budget = new InFlightBudget(64, 100);
    const older = await budget.admit(1);
    older.received(60);
    const younger = await budget.admit(1);
    expect(younger.received(30)).toBeUndefined(); // 90 of 100
    const wait = younger.received(30); // 120 of 100: stop reading
    expect(wait).toBeInstanceOf(Promise);
    expect(await settled(wait!)).toBe(false);
    older.release();
    expect(await settled(wait!)).toBe(true);
    // Now the oldest: it goes on however much it receives.
    expect(younger.received(1_000)).toBeUndefined();
  });

  test('waiters wake in turn as the budget frees, and a message released while waiting wakes too', async () => {
    const budget = new InFlightBudget(64, 100);
    const a = await budget.admit(1);
    a.received(100);
    const b = await budget.admit(0);
    const c = await budget.admit(0);
    const bWait = b.received(10)!;
    const cWait = c.received(10)!;
    c.release(); // e.g. its RETR failed while it waited
    expect(await settled(cWait)).toBe(true);
    expect(await settled(bWait)).toBe(false);
    a.release();
    expect(await settled(bWait)).toBe(true);
    b.release();
    expect([budget.bytes, budget.messages]).toEqual([0, 0]);
  });

  test('release is idempotent and later octets of a released message are not charged', async () => {
    const budget = new InFlightBudget(64, 100);
    const a = await budget.admit(10);
    a.release();
    a.release();
    expect(a.received(50)).toBeUndefined();
    expect([budget.bytes, budget.messages]).toEqual([0, 0]);
  });
});
