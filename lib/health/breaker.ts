/**
 * The circuit breaker of a mailbox, as pure functions of its health record, the outcome of a run and the
 * time: which failures hold further attempts back, for how long, and what the record becomes.
 *
 * Why a breaker at all: a refused password tried every five minutes is 288 failed logins a day, enough
 * for fail2ban, Microsoft's smart lockout or an ISP to block the account, and a configuration mistake
 * (TLS mode, a host that does not resolve) retried forever reaches nobody. So a failure that is the
 * configuration's, not the network's, opens the breaker: the mailbox is `needs-attention`, and it is not
 * tried again until its fingerprint (configuration + secret, lib/health/fingerprint.ts) changes, a person
 * resets it (`mailbox-poller reset`) or forces a run (`--force`), or the back-off passes: 1 h, doubling
 * to 24 h, then one attempt a day, so a cause fixed elsewhere (a password changed back on the server) is
 * still noticed.
 *
 * Which reasons (docs/outcomes.md) open it:
 * - at once: the credentials were refused (`auth`, `auth-revoked`): a second try sends the same secret
 *   to the same check, and each refusal counts towards a lockout.
 * - after `configRepeats` runs in a row with the same reason (default 3): TLS mismatch or untrusted
 *   certificate (`tls`), a name that does not resolve (`dns`, which also covers a resolver that is down
 *   for a moment: hence the repeats), nothing listening on the port (`refused`: a server restarting
 *   refuses too), a secret that cannot be read (`credentials`), the server's permanent trouble
 *   (`SYS/PERM`), keep mode without UIDL (`no-uidl`) or with a listing it cannot track (`listing-too-long`).
 * - never: everything that goes away by itself or is not the mailbox's configuration: network blips,
 *   timeouts, IN-USE, LOGIN-DELAY, SYS/TEMP, throttling, the store or the queue, a lock, a defect.
 */
import type { MailboxOutcome } from '../pipeline/outcome.ts';
import type { OutcomeReason } from '../pipeline/reasons.ts';
import type { MailboxHealth } from './record.ts';

export type BreakerRule = 'at-once' | 'after-repeats' | 'never';

const AT_ONCE: ReadonlySet<string> = new Set<OutcomeReason>(['auth', 'auth-revoked']);
const AFTER_REPEATS: ReadonlySet<string> = new Set<OutcomeReason>([
  'tls',
  'dns',
  'refused',
  'credentials',
  'SYS/PERM',
  'no-uidl',
  'listing-too-long',
]);

export function breakerRule(reason: string | undefined): BreakerRule {
  if (reason === undefined) return 'never';
  if (AT_ONCE.has(reason)) return 'at-once';
  return AFTER_REPEATS.has(reason) ? 'after-repeats' : 'never';
}

export interface BreakerPolicy {
  /** Runs in a row with the same configuration reason before the breaker opens. @default 3 */
  readonly configRepeats?: number;
  /** First back-off once the breaker is open; each further failed attempt doubles it. @default 1 h */
  readonly firstBackoffMs?: number;
  /** Longest back-off: one attempt a day once reached. @default 24 h */
  readonly maxBackoffMs?: number;
  /**
   * How stale lastSuccessAt / lastIngestAt may get before an otherwise unchanged record is written again:
   * the heartbeat that bounds the writes of a healthy mailbox to one a day. @default 24 h
   */
  readonly heartbeatMs?: number;
}

export const DEFAULT_CONFIG_REPEATS = 3;

/**
 * The policy from the environment: `BREAKER_CONFIG_REPEATS` (a whole number from 1) sets configRepeats,
 * for the poll function (set by the deployment) and the CLI alike. Anything else keeps the default: a
 * typo must not stop a fleet from polling.
 */
export function breakerPolicyFromEnv(env: NodeJS.ProcessEnv): BreakerPolicy {
  const repeats = Number(env['BREAKER_CONFIG_REPEATS']);
  return Number.isSafeInteger(repeats) && repeats >= 1 ? { configRepeats: repeats } : {};
}
const HOUR_MS = 60 * 60 * 1000;
export const DEFAULT_FIRST_BACKOFF_MS = HOUR_MS;
export const DEFAULT_MAX_BACKOFF_MS = 24 * HOUR_MS;
export const DEFAULT_HEARTBEAT_MS = 24 * HOUR_MS;

/** 1 h, 2 h, 4 h, … 24 h for the attempts made since the breaker opened (0, 1, 2, …). */
export function backoffMs(heldAttempts: number, policy: BreakerPolicy = {}): number {
  const first = policy.firstBackoffMs ?? DEFAULT_FIRST_BACKOFF_MS;
  const max = policy.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  return Math.min(max, first * 2 ** Math.min(Math.max(0, heldAttempts), 30));
}

/**
 * Whether a run must not be attempted now: the breaker is open, its back-off has not passed, and nothing
 * changed since it opened. `fingerprint` undefined (it could not be computed) counts as unchanged: when
 * in doubt, the account is not put at risk.
 */
export function isHeldBack(health: MailboxHealth | undefined, now: Date, fingerprint?: string): boolean {
  if (health?.state !== 'needs-attention' || health.nextAttemptAt === undefined) return false;
  if (Date.parse(health.nextAttemptAt) <= now.getTime()) return false;
  return fingerprint === undefined || health.fingerprint === undefined || fingerprint === health.fingerprint;
}

/** Whether a failed run with this outcome, after `previous`, opens (or keeps open) the breaker. */
export function opensBreaker(
  previous: MailboxHealth | undefined,
  outcome: Pick<MailboxOutcome, 'status' | 'reason'>,
  policy: BreakerPolicy = {},
): boolean {
  if (outcome.status === 'ok') return false;
  const rule = breakerRule(outcome.reason);
  if (rule === 'at-once') return true;
  if (rule === 'never') return false;
  return streakOf(previous, outcome.reason) + 1 >= (policy.configRepeats ?? DEFAULT_CONFIG_REPEATS);
}

/** Failures in a row with this reason before the current run. */
function streakOf(previous: MailboxHealth | undefined, reason: string | undefined): number {
  return previous !== undefined && previous.failures > 0 && previous.reason === reason
    ? previous.failures
    : 0;
}

export interface RunFacts {
  readonly outcome: Pick<MailboxOutcome, 'mailboxId' | 'status' | 'reason' | 'message' | 'counts'>;
  readonly now: Date;
  /** The fingerprint now; needed only when the breaker opens (the caller computes it then). */
  readonly fingerprint?: string;
  /** The login mechanism that worked this run, to remember (a change is written, a repeat is not). */
  readonly loginMechanism?: string;
}

/** The record after a run that was attempted (not held back). */
export function nextHealth(
  previous: MailboxHealth | undefined,
  { outcome, now, fingerprint, loginMechanism }: RunFacts,
  policy: BreakerPolicy = {},
): MailboxHealth {
  const at = now.toISOString();
  const heartbeat = policy.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const ingested = outcome.counts.notified > 0;
  const lastIngestAt = ingested ? refreshed(previous?.lastIngestAt, now, heartbeat) : previous?.lastIngestAt;
  const mechanism = loginMechanism ?? previous?.loginMechanism;
  const kept = {
    ...(previous?.lastSuccessAt === undefined ? {} : { lastSuccessAt: previous.lastSuccessAt }),
    ...(lastIngestAt === undefined ? {} : { lastIngestAt }),
    ...(mechanism === undefined ? {} : { loginMechanism: mechanism }),
  };
  if (outcome.status === 'ok') {
    return {
      mailboxId: outcome.mailboxId,
      state: 'ok',
      since: previous?.state === 'ok' ? previous.since : at,
      failures: 0,
      ...kept,
      lastSuccessAt: refreshed(previous?.lastSuccessAt, now, heartbeat),
    };
  }
  const failures = streakOf(previous, outcome.reason) + 1;
  const failed = {
    mailboxId: outcome.mailboxId,
    failures,
    ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
    ...(outcome.message === undefined ? {} : { message: shortMessage(outcome.message) }),
    ...kept,
  };
  if (!opensBreaker(previous, outcome, policy)) {
    return { ...failed, state: 'retrying', since: previous?.state === 'retrying' ? previous.since : at };
  }
  // Still open on the same fingerprint: the back-off doubles. Newly open, or open on a new one: from 1 h.
  const wasOpen = previous?.state === 'needs-attention' && previous.nextAttemptAt !== undefined;
  const sameCause = wasOpen && previous.fingerprint === fingerprint && previous.reason === outcome.reason;
  const heldAttempts = sameCause ? (previous.heldAttempts ?? 0) + 1 : 0;
  return {
    ...failed,
    state: 'needs-attention',
    since: previous?.state === 'needs-attention' ? previous.since : at,
    nextAttemptAt: new Date(now.getTime() + backoffMs(heldAttempts, policy)).toISOString(),
    heldAttempts,
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
}

/** A timestamp moved to `now` only once it is older than the heartbeat, so a healthy record stays put. */
function refreshed(previous: string | undefined, now: Date, heartbeatMs: number): string {
  if (previous !== undefined && now.getTime() - Date.parse(previous) < heartbeatMs) return previous;
  return now.toISOString();
}

/** The record after `mailbox-poller reset`: breaker closed, streak forgotten, history kept. */
export function resetHealth(
  previous: MailboxHealth | undefined,
  mailboxId: string,
  now: Date,
): MailboxHealth {
  return {
    mailboxId,
    state: 'retrying',
    since: now.toISOString(),
    failures: 0,
    message: 'reset by a person; the next run tells',
    ...(previous?.lastSuccessAt === undefined ? {} : { lastSuccessAt: previous.lastSuccessAt }),
    ...(previous?.lastIngestAt === undefined ? {} : { lastIngestAt: previous.lastIngestAt }),
    ...(previous?.loginMechanism === undefined ? {} : { loginMechanism: previous.loginMechanism }),
  };
}

/** Whether a store write is needed: the record differs from what was loaded. */
export function healthChanged(previous: MailboxHealth | undefined, next: MailboxHealth): boolean {
  return previous === undefined || canonical(previous) !== canonical(next);
}

function canonical(health: MailboxHealth): string {
  const entries = Object.entries(health).filter(([, value]) => value !== undefined);
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Longest message kept: a record stays small whatever a server said (its text is quoted in messages). */
export const MAX_HEALTH_MESSAGE_CHARS = 500;

function shortMessage(message: string): string {
  return message.length > MAX_HEALTH_MESSAGE_CHARS
    ? `${message.slice(0, MAX_HEALTH_MESSAGE_CHARS)}…`
    : message;
}
