/** The typed result of polling one mailbox: what the CLI prints and the Lambda maps to retries/metrics. */

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
  /** Retrieved messages whose store or notification failed: left on the server, not committed. */
  uncommitted: number;
}

export interface SkippedMessage {
  readonly msg: number;
  readonly uidl: string | undefined;
  readonly reason: 'oversized' | 'retr-refused' | 'store-failed' | 'notify-failed';
  readonly detail: string;
}

export interface MailboxOutcome {
  readonly mailboxId: string;
  readonly status: OutcomeStatus;
  /** Short machine-readable reason, e.g. 'IN-USE', 'LOGIN-DELAY', 'SYS/TEMP', 'network', 'deadline', 'auth'. */
  readonly reason?: string;
  /** A sentence a person can act on; never contains a secret. */
  readonly message?: string;
  readonly counts: OutcomeCounts;
  readonly skipped: readonly SkippedMessage[];
  /** Whether the server confirmed the UPDATE state (+OK to QUIT). */
  readonly quitConfirmed: boolean;
  readonly durationMs: number;
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
