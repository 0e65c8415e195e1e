import { describe, expect, it } from 'vitest';
import {
  backoffSeconds,
  decideDisposition,
  RETRY_BASE_DELAY_SECONDS,
  RETRY_MAX_DELAY_SECONDS,
} from '../../../lib/lambda/disposition.ts';

const policy = { maxReceiveCount: 5 };

describe('what happens to a job after its poll', () => {
  it('deletes the job when the mailbox was drained', () => {
    expect(decideDisposition({ status: 'ok' }, 1, policy)).toEqual({ action: 'delete' });
  });

  it('consumes the job when the credentials were refused, so a bad password causes no retry storm', () => {
    expect(decideDisposition({ status: 'auth-failed' }, 1, policy)).toEqual({
      action: 'delete',
      consumedBecause: 'auth-failed',
    });
  });

  it('retries a transient failure later, waiting longer with every receive', () => {
    const delays = [1, 2, 3, 4].map((count) => decideDisposition({ status: 'retry-later' }, count, policy));
    expect(delays).toEqual([
      { action: 'retry', visibilityTimeoutSeconds: 30 },
      { action: 'retry', visibilityTimeoutSeconds: 60 },
      { action: 'retry', visibilityTimeoutSeconds: 120 },
      { action: 'retry', visibilityTimeoutSeconds: 240 },
    ]);
  });

  it('leaves a transient failure to the next slot on the last attempt instead of the DLQ', () => {
    expect(decideDisposition({ status: 'retry-later' }, 5, policy)).toEqual({
      action: 'delete',
      consumedBecause: 'attempts-exhausted',
    });
  });

  it('keeps returning a failed job so SQS moves it to the job DLQ', () => {
    expect(decideDisposition({ status: 'failed' }, 5, policy)).toEqual({
      action: 'retry',
      visibilityTimeoutSeconds: 480,
    });
  });
});

describe('backoff', () => {
  it('starts at the base delay', () => {
    expect(backoffSeconds(1, policy)).toBe(RETRY_BASE_DELAY_SECONDS);
  });

  it('never exceeds the cap, however many receives', () => {
    expect(backoffSeconds(10, policy)).toBe(RETRY_MAX_DELAY_SECONDS);
    expect(backoffSeconds(10_000, policy)).toBe(RETRY_MAX_DELAY_SECONDS);
  });

  it('stays within what ChangeMessageVisibility accepts even with a larger configured cap', () => {
    expect(backoffSeconds(40, { ...policy, maxDelaySeconds: 100_000 })).toBe(43_200);
  });

  it('follows a custom base', () => {
    expect(backoffSeconds(3, { ...policy, baseDelaySeconds: 5 })).toBe(20);
  });
});
