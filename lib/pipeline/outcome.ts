/** The typed result of polling one mailbox: what the CLI prints and the Lambda maps to retries/metrics. */
import type { HealthState } from '../health/states.ts';
import type { DryRunLeftReason, OutcomeReason, SkipReason } from './reasons.ts';

export type OutcomeStatus =
  /** Everything eligible was stored, notified and deleted (or left by rule: limits, oversized). */
  | 'ok'
  /**
   * The run ended as planned, but at least one retrieved message could not be committed (its store or its
   * notification failed): it stays on the server for the next run. Never reported as success.
   */
  | 'partial'
  /** Credentials were refused: retrying with the same secret will not help. */
  | 'auth-failed'
  /** Transient: [IN-USE], [LOGIN-DELAY], [SYS/TEMP], network trouble, deadline. Try again later. */
  | 'retry-later'
  /** Anything else (protocol violation, configuration, permanent server error). */
  | 'failed';

export interface OutcomeCounts {
  /** Messages on the server at login. */
  found: number;
  retrieved: number;
  bytesRetrieved: number;
  stored: number;
  notified: number;
  deleted: number;
  /** Not retrieved or not deleted by rule or failure (oversized, RETR -ERR, store/notify failure). */
  skipped: number;
  /** Messages still on the server after this run (limits, deadline, skips). */
  left: number;
  /**
   * Messages this run took on but could not commit because something failed (RETR refused, store or
   * notification failed, DELE refused): left on the server for the next run. Oversized messages and
   * messages left by the per-run limits are not counted here: they are left by rule.
   */
  uncommitted: number;
}

/** Keep mode only (lib/pipeline/keep-mode.ts): what happened to the messages the mailbox keeps. */
export interface KeepCounts {
  /** Listed messages the state already held (ingested by an earlier run, or recorded by `initial`). */
  kept: number;
  /** New messages this run committed (stored + notified) and recorded in the state. */
  ingested: number;
  /** Messages `deleteAfterDays` deleted (DELE committed by a confirmed QUIT). */
  deletedAfterDays: number;
  /** Messages the first run recorded without ingesting them (`initial: "none"` or `{"newest": N}`). */
  recordedByInitial: number;
  /**
   * Messages due under `deleteAfterDays` that were left on the server because nothing proved them the
   * messages stored: no digest in the state (ingested before digests were kept), their RETR was refused, or
   * the server expires what is retrieved (EXPIRE 0). Only present when not 0.
   */
  deletionWithheld?: number;
  /**
   * Messages due under `deleteAfterDays` whose content on the server differs from what was stored under
   * their unique-id and size: the server reused the unique-id. Not deleted; ingested as new messages (this
   * run, within its limits, else the next). Only present when not 0.
   */
  reusedUidl?: number;
}

export interface SkippedMessage {
  readonly msg: number;
  readonly uidl: string | undefined;
  readonly reason: SkipReason;
  readonly detail: string;
}

/** What a real run would do with one message; a dry run reports one per message found. */
export interface DryRunEntry {
  readonly msg: number;
  readonly uidl: string | undefined;
  /** Size from LIST. */
  readonly size: number;
  readonly action: 'retrieve' | 'leave';
  /** Why a real run would leave it on the server (only when `action` is 'leave'). */
  readonly leftBecause?: DryRunLeftReason;
  /** Read with `TOP n 0` where the server offers TOP; encoded words decoded. */
  readonly from?: string;
  readonly subject?: string;
}

export interface MailboxOutcome {
  readonly mailboxId: string;
  readonly status: OutcomeStatus;
  /** Short machine-readable reason from a closed set (lib/pipeline/reasons.ts, docs/outcomes.md). */
  readonly reason?: OutcomeReason;
  /** A sentence a person can act on; never contains a secret. */
  readonly message?: string;
  readonly counts: OutcomeCounts;
  /** Only in keep mode. */
  readonly keep?: KeepCounts;
  readonly skipped: readonly SkippedMessage[];
  /** Whether the server confirmed the UPDATE state (+OK to QUIT). */
  readonly quitConfirmed: boolean;
  /**
   * Seconds before the mailbox may be polled again, when the server said ([LOGIN-DELAY n], or CAPA's
   * LOGIN-DELAY). The CLI prints the time; the Lambda poll delays the job by it.
   */
  readonly retryAfterSeconds?: number;
  readonly durationMs: number;
  /** Only for a dry run: what a real run would do, message by message. */
  readonly dryRun?: readonly DryRunEntry[];
  /** The mailbox's health after this run, where a health store keeps it (lib/health/guarded-poll.ts). */
  readonly health?: OutcomeHealth;
  /**
   * The login mechanism the server accepted (USER, APOP, PLAIN, …), when a login succeeded: the health
   * record keeps it, so the next run, in any process, tries it first instead of one the server refuses.
   */
  readonly loginMechanism?: string;
}

export interface OutcomeHealth {
  readonly state: HealthState;
  /** The circuit breaker is open: no attempt before this time (ISO 8601), unless the cause changes. */
  readonly nextAttemptAt?: string;
}

/** Counts of a run that has not retrieved anything (yet). */
export function emptyCounts(): OutcomeCounts {
  return {
    found: 0,
    retrieved: 0,
    bytesRetrieved: 0,
    stored: 0,
    notified: 0,
    deleted: 0,
    skipped: 0,
    left: 0,
    uncommitted: 0,
  };
}
