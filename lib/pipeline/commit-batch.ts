/**
 * Notifications go out in batches (up to the notifier's batch size, 10 for SQS), and a message may be
 * marked for deletion only once its own entry was accepted: per-entry success, never all-or-nothing.
 * The batch only sends; what follows (DELE, counting) is the caller's, in lib/pipeline/poll-mailbox.ts.
 */
import type { Notifier, OutgoingNotification } from '../ports.ts';

export interface StoredAndDescribed {
  readonly msg: number;
  readonly uidl: string | undefined;
  readonly notification: OutgoingNotification;
  /** SHA-256 (hex) of the stored bytes: keep mode remembers it to check the message before a later DELE. */
  readonly sha256?: string;
}

/** What one send did: the accepted entries may now be deleted; the failed ones stay on the server. */
export interface SentBatch {
  readonly accepted: readonly StoredAndDescribed[];
  readonly failed: readonly { readonly item: StoredAndDescribed; readonly reason: string }[];
}

const NOTHING_SENT: SentBatch = { accepted: [], failed: [] };

export class CommitBatch {
  #pending: StoredAndDescribed[] = [];
  readonly #notifier: Notifier;
  readonly #signal: AbortSignal | undefined;

  /** `signal`: the run's deadline; a send still in flight when it aborts is abandoned and its entries fail. */
  constructor(notifier: Notifier, signal?: AbortSignal) {
    this.#notifier = notifier;
    this.#signal = signal;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Adds a stored message; sends the batch once it is full (otherwise nothing was sent yet). */
  async add(item: StoredAndDescribed): Promise<SentBatch> {
    this.#pending.push(item);
    return this.#pending.length >= this.#notifier.maxBatchSize ? this.flush() : NOTHING_SENT;
  }

  /** Sends what is pending now (also a partial batch). */
  async flush(): Promise<SentBatch> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return NOTHING_SENT;
    let results: Awaited<ReturnType<Notifier['send']>>;
    try {
      results = await this.#notifier.send(
        batch.map((item) => item.notification),
        { signal: this.#signal },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { accepted: [], failed: batch.map((item) => ({ item, reason })) };
    }
    const byEntry = new Map(results.map((result) => [result.entryId, result]));
    const accepted: StoredAndDescribed[] = [];
    const failed: { item: StoredAndDescribed; reason: string }[] = [];
    for (const item of batch) {
      const result = byEntry.get(item.notification.entryId);
      if (result?.ok) accepted.push(item);
      else failed.push({ item, reason: result && !result.ok ? result.reason : 'no result for this entry' });
    }
    return { accepted, failed };
  }
}
