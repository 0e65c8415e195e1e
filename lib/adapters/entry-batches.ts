/**
 * What the two batch notifiers (SQS SendMessageBatch, EventBridge PutEvents) share: both APIs take up to
 * 10 entries and a byte budget per call and answer per entry, so both pack requests the same way and send
 * again, with exponential back-off, only the entries that failed through no fault of ours. What counts as
 * an entry's size and which failures are worth a retry stay with each notifier.
 */
import type { NotificationResult, OutgoingNotification } from '../ports.ts';

export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_DELAY_MS = 100;

export interface EntryRetryOptions {
  /** How often an entry that failed through no fault of ours is sent again (default 2). */
  readonly retries?: number;
  /** Delay before the first retry; doubled for each further one (default 100 ms). */
  readonly retryDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type EntryResults = Map<OutgoingNotification, NotificationResult>;

/**
 * One call with `outstanding`: records the final results in `results` and resolves with the entries worth
 * sending again (none when `isLastAttempt`).
 */
export type EntryAttempt = (
  outstanding: readonly OutgoingNotification[],
  isLastAttempt: boolean,
  results: EntryResults,
) => Promise<readonly OutgoingNotification[]>;

/**
 * Sends one request, then what each attempt hands back, until nothing is left or the run's deadline
 * passed; the entries still outstanding then fail with `deadlineReason`.
 */
export async function sendWithRetries(
  request: readonly OutgoingNotification[],
  options: EntryRetryOptions,
  attempt: EntryAttempt,
  deadline: { readonly signal: AbortSignal | undefined; readonly reason: string },
): Promise<EntryResults> {
  const retries = options.retries ?? DEFAULT_RETRIES;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const results: EntryResults = new Map();
  let outstanding = request;
  for (let count = 0; outstanding.length > 0; count++) {
    if (count > 0) await sleep(retryDelayMs * 2 ** (count - 1));
    if (deadline.signal?.aborted) {
      for (const notification of outstanding)
        results.set(notification, failure(notification, deadline.reason));
      break;
    }
    outstanding = await attempt(outstanding, count >= retries, results);
  }
  return results;
}

/** Splits entries, in order, into requests of at most `maxEntries` entries and `maxBytes` together. */
export function packRequests(
  notifications: readonly OutgoingNotification[],
  limits: { readonly maxEntries: number; readonly maxBytes: number },
  sizeOf: (notification: OutgoingNotification) => number,
): OutgoingNotification[][] {
  const requests: OutgoingNotification[][] = [];
  let current: OutgoingNotification[] = [];
  let currentBytes = 0;
  for (const notification of notifications) {
    const size = sizeOf(notification);
    const full = current.length === limits.maxEntries || currentBytes + size > limits.maxBytes;
    if (current.length > 0 && full) {
      requests.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(notification);
    currentBytes += size;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export function failure(notification: OutgoingNotification, reason: string): NotificationResult {
  return { entryId: notification.entryId, ok: false, reason };
}
