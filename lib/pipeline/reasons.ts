/**
 * Every `reason` a MailboxOutcome can carry, and every reason a message is reported as skipped: closed
 * sets, so a scheduler, an alarm or a person can act on each one. docs/outcomes.md says what to do for
 * each; test/unit/pipeline/outcome-reasons.test.ts keeps this list, that page and the code in step.
 */

/** Why a run ended as it did (MailboxOutcome.reason), with the status it comes with. */
export const OUTCOME_REASONS = {
  // retry-later: transient, the next run picks up where this one stopped.
  'IN-USE': 'retry-later',
  'LOGIN-DELAY': 'retry-later',
  'SYS/TEMP': 'retry-later',
  'rate-limited': 'retry-later',
  network: 'retry-later',
  timeout: 'retry-later',
  deadline: 'retry-later',
  store: 'retry-later',
  notify: 'retry-later',
  'not-committed': 'retry-later',
  'quit-not-confirmed': 'retry-later',
  'token-endpoint': 'retry-later',
  locked: 'retry-later',
  'state-conflict': 'retry-later',
  'state-store': 'retry-later',
  refused: 'retry-later',
  // partial: the run ended, but some retrieved messages stay on the server uncommitted.
  uncommitted: 'partial',
  // auth-failed: the credentials were refused.
  auth: 'auth-failed',
  // auth-failed, but the OAuth2 grant itself is gone: a person must consent or renew the secret.
  'auth-revoked': 'auth-failed',
  // failed: will not go away by itself.
  'SYS/PERM': 'failed',
  'server-error': 'failed',
  protocol: 'failed',
  credentials: 'failed',
  dns: 'failed',
  tls: 'failed',
  error: 'failed',
  crash: 'failed',
  'no-uidl': 'failed',
  'listing-too-long': 'failed',
  'held-back': 'failed',
  // ok, but nothing was changed.
  'dry-run': 'ok',
} as const;

export type OutcomeReason = keyof typeof OUTCOME_REASONS;

export function isOutcomeReason(text: string): text is OutcomeReason {
  return Object.hasOwn(OUTCOME_REASONS, text);
}

/**
 * Why one message was not committed in a run (SkippedMessage.reason). Only 'oversized' is left by rule;
 * each of the others makes the run 'partial' (or worse).
 */
export const SKIP_REASONS = [
  'oversized',
  'retr-refused',
  'store-failed',
  'notify-failed',
  'dele-refused',
] as const;

export type SkipReason = (typeof SKIP_REASONS)[number];

/** Why a dry run would leave a message on the server (DryRunEntry.leftBecause). */
export const DRY_RUN_LEFT_REASONS = ['oversized', 'per-run-limit'] as const;

export type DryRunLeftReason = (typeof DRY_RUN_LEFT_REASONS)[number];
