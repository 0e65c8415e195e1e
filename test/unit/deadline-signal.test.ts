/** Deadline.signal(): an AbortSignal for the time left, for calls (S3, SQS) that must not outlive the run. */
import { describe, expect, it } from 'vitest';
import { Deadline, DeadlineExceededError } from '../../lib/deadline.ts';

describe('Deadline.signal', () => {
  it('aborts with a DeadlineExceededError once the time is up, and not before', async () => {
    const deadline = Deadline.after(50);
    const signal = deadline.signal();
    expect(signal.aborted).toBe(false);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(deadline.expired).toBe(true);
    expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect(() => signal.throwIfAborted()).toThrow(/deadline passed/);
  });

  it('is already aborted for a deadline that has passed', () => {
    const signal = Deadline.after(0).signal();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it('is one signal per deadline, and an earlier (reserving) deadline has its own', () => {
    const deadline = Deadline.after(60_000);
    expect(deadline.signal()).toBe(deadline.signal());
    expect(deadline.reserving(1_000).signal()).not.toBe(deadline.signal());
  });

  it('never aborts for a deadline that never expires, or one further away than a timer can wait', async () => {
    const never = Deadline.never().signal();
    // 30 days: more than setTimeout's 2^31-1 ms, which would otherwise fire after 1 ms.
    const far = Deadline.after(30 * 24 * 3600 * 1000).signal();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(never.aborted).toBe(false);
    expect(far.aborted).toBe(false);
  });
});
