/**
 * The health record of one mailbox: what a person running a fleet needs to know about it, and what the
 * circuit breaker (lib/health/breaker.ts) needs to hold attempts back. It is written only when it changes
 * (plus a bounded heartbeat), so its cost grows with changes, not with polls: a store keeps one small
 * JSON document per mailbox (lib/adapters/s3-health-store.ts, local-health-store.ts).
 *
 * Times are ISO 8601 strings: the document is read by people (`mailbox-poller status`, the S3 console).
 */
import { HEALTH_STATES, type HealthState } from './states.ts';

export interface MailboxHealth {
  readonly mailboxId: string;
  readonly state: HealthState;
  /** When the mailbox entered `state`. */
  readonly since: string;
  /** Consecutive runs that did not end ok (0 after an ok run). */
  readonly failures: number;
  /** The reason (docs/outcomes.md) of the last failed run, while `failures` > 0. */
  readonly reason?: string;
  /** The last failed run's message, with its hint; never a secret (outcomes never carry one). */
  readonly message?: string;
  /** Last run that ended ok; refreshed at most once per heartbeat while nothing else changes. */
  readonly lastSuccessAt?: string;
  /** Last run that ingested at least one message; refreshed at most once per heartbeat likewise. */
  readonly lastIngestAt?: string;
  /** Breaker open: no attempt before this time, unless the fingerprint changed or a person forces one. */
  readonly nextAttemptAt?: string;
  /** Attempts made since the breaker opened, each doubling the back-off (lib/health/breaker.ts). */
  readonly heldAttempts?: number;
  /** Fingerprint of the configuration and secret the breaker opened on (lib/health/fingerprint.ts). */
  readonly fingerprint?: string;
  /** The login mechanism that last worked, for a later run to try first (set by the login code). */
  readonly loginMechanism?: string;
}

/** The record as loaded, with the version a save must name to replace it (an S3 ETag, a file counter). */
export interface VersionedHealth {
  readonly health: MailboxHealth;
  readonly version: string;
}

/** A health document that is not what this code writes: never trusted to hold a mailbox back. */
export class HealthRecordError extends Error {
  override readonly name = 'HealthRecordError';
}

/** The JSON bytes of a record (the breaker keeps its message short: lib/health/breaker.ts). */
export function encodeHealth(health: MailboxHealth): Buffer {
  return Buffer.from(`${JSON.stringify({ version: 1, ...health }, null, 2)}\n`);
}

const OPTIONAL_TEXT = [
  'reason',
  'message',
  'lastSuccessAt',
  'lastIngestAt',
  'nextAttemptAt',
  'fingerprint',
  'loginMechanism',
] as const;

export function decodeHealth(mailboxId: string, bytes: Uint8Array): MailboxHealth {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new HealthRecordError(`health record of ${mailboxId} is not JSON`, { cause: error });
  }
  const doc = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const problem = (what: string) =>
    new HealthRecordError(`health record of ${mailboxId}: ${what} (delete it or run reset)`);
  if (doc['version'] !== 1) throw problem('unknown version');
  if (doc['mailboxId'] !== mailboxId) throw problem(`it names mailbox ${String(doc['mailboxId'])}`);
  const state = doc['state'];
  if (typeof state !== 'string' || !(HEALTH_STATES as readonly string[]).includes(state))
    throw problem('unknown state');
  if (typeof doc['since'] !== 'string') throw problem('no since');
  const failures = doc['failures'];
  if (typeof failures !== 'number' || !Number.isSafeInteger(failures) || failures < 0)
    throw problem('failures is not a count');
  const held = doc['heldAttempts'];
  if (held !== undefined && (typeof held !== 'number' || !Number.isSafeInteger(held) || held < 0))
    throw problem('heldAttempts is not a count');
  const record: Record<string, unknown> = { mailboxId, state, since: doc['since'], failures };
  if (held !== undefined) record['heldAttempts'] = held;
  for (const key of OPTIONAL_TEXT) {
    const value = doc[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw problem(`${key} is not text`);
    record[key] = value;
  }
  return record as unknown as MailboxHealth;
}
