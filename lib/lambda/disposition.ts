/**
 * What the poll function does with a job once the mailbox was polled: delete it, or hand it back to SQS
 * with a longer visibility timeout so the next attempt waits (exponential backoff by receive count).
 *
 * The schedule sends a fresh job for every mailbox every period, so a job that keeps meeting transient
 * trouble is dropped once its attempts are used up: the next slot polls again, and the job DLQ stays for
 * jobs that need a person.
 */
import { SQS_MAX_VISIBILITY_SECONDS } from '../aws-limits.ts';
import type { MailboxOutcome } from '../pipeline/outcome.ts';

/** First retry waits this long; each further receive doubles it. */
export const RETRY_BASE_DELAY_SECONDS = 30;
/** Backoff never exceeds 15 minutes: longer than that, the next schedule slot is the better retry. */
export const RETRY_MAX_DELAY_SECONDS = 15 * 60;

export type JobDisposition =
  /** Remove the job from the queue. `consumedBecause` says why when the poll did not succeed. */
  | { readonly action: 'delete'; readonly consumedBecause?: ConsumedBecause }
  /** Report a batch item failure and make the job visible again after `visibilityTimeoutSeconds`. */
  | { readonly action: 'retry'; readonly visibilityTimeoutSeconds: number };

/**
 * Why a job was deleted although no poll succeeded. `bad-job` and `unknown-mailbox` were never polled: a
 * job that cannot be read, or that names no deployed mailbox, would fail the same way on every receive.
 */
export type ConsumedBecause =
  | 'auth-failed'
  | 'auth-revoked'
  | 'attempts-exhausted'
  | 'bad-job'
  | 'unknown-mailbox'
  // The mailbox's circuit breaker is open (lib/health/breaker.ts): a person must act, no retry helps.
  | 'needs-attention';

export interface RetryPolicy {
  /** The job queue's redrive maxReceiveCount: a job failing this often moves to the job DLQ. */
  readonly maxReceiveCount: number;
  readonly baseDelaySeconds?: number;
  readonly maxDelaySeconds?: number;
}

/** 30 s, 60 s, 120 s, … for receive counts 1, 2, 3, …, capped. */
export function backoffSeconds(receiveCount: number, policy: RetryPolicy): number {
  const base = policy.baseDelaySeconds ?? RETRY_BASE_DELAY_SECONDS;
  const cap = Math.min(policy.maxDelaySeconds ?? RETRY_MAX_DELAY_SECONDS, SQS_MAX_VISIBILITY_SECONDS);
  const exponent = Math.max(0, Math.floor(receiveCount) - 1);
  // 2 ** 30 already exceeds any cap; clamping the exponent keeps the arithmetic finite.
  return Math.min(cap, base * 2 ** Math.min(exponent, 30));
}

export function decideDisposition(
  outcome: Pick<MailboxOutcome, 'status' | 'retryAfterSeconds'> &
    Partial<Pick<MailboxOutcome, 'reason' | 'health'>>,
  receiveCount: number,
  policy: RetryPolicy,
): JobDisposition {
  // Held back by its breaker, or this run opened it: retries in a loop (and the DLQ) would only repeat
  // the mistake; the next scheduled job asks the breaker again. (auth-failed is consumed below anyway.)
  if (
    outcome.health?.state === 'needs-attention' &&
    outcome.status !== 'ok' &&
    outcome.status !== 'auth-failed'
  )
    return { action: 'delete', consumedBecause: 'needs-attention' };
  switch (outcome.status) {
    case 'ok':
      return { action: 'delete' };
    case 'auth-failed':
      // The same secret will be refused again; retrying only risks locking the account. Alarmed by metric.
      // A revoked OAuth2 grant likewise: every retry would ask the token endpoint in vain (own metric).
      return {
        action: 'delete',
        consumedBecause: outcome.reason === 'auth-revoked' ? 'auth-revoked' : 'auth-failed',
      };
    case 'partial':
    // The uncommitted messages are still on the server: the next attempt takes them up (alarmed by metric).
    case 'retry-later':
      // Never send transient trouble to the DLQ: on the last attempt, leave it to the next slot.
      if (receiveCount >= policy.maxReceiveCount)
        return { action: 'delete', consumedBecause: 'attempts-exhausted' };
      // [LOGIN-DELAY n]: polling sooner is refused anyway; wait as long as the server asked (SQS allows 12 h).
      if (
        outcome.retryAfterSeconds !== undefined &&
        outcome.retryAfterSeconds <= SQS_MAX_VISIBILITY_SECONDS
      ) {
        return {
          action: 'retry',
          visibilityTimeoutSeconds: Math.max(0, Math.ceil(outcome.retryAfterSeconds)),
        };
      }
      return { action: 'retry', visibilityTimeoutSeconds: backoffSeconds(receiveCount, policy) };
    case 'failed':
      // SQS moves it to the job DLQ after maxReceiveCount receives; the backoff gets it there sooner.
      return { action: 'retry', visibilityTimeoutSeconds: backoffSeconds(receiveCount, policy) };
  }
}
