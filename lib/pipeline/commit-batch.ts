/**
 * Notifications go out in batches (up to the notifier's batch size, 10 for SQS), and a message is marked
 * for deletion only once its own entry was accepted: per-entry success, never all-or-nothing.
 */
import type { Notifier, OutgoingNotification } from '../ports.ts';

export interface StoredAndDescribed {
  readonly msg: number;
  readonly uidl: string | undefined;
  readonly notification: OutgoingNotification;
}

export interface CommitHandlers {
  /** The notification was accepted: the message may now be deleted. */
  notified(item: StoredAndDescribed): Promise<void>;
  notifyFailed(item: StoredAndDescribed, reason: string): void;
  /** The run's deadline: a send still in flight when it aborts is abandoned and its entries fail. */
  readonly signal?: AbortSignal;
}

export class CommitBatch {
  #pending: StoredAndDescribed[] = [];
  readonly #notifier: Notifier;
  readonly #handlers: CommitHandlers;

  constructor(notifier: Notifier, handlers: CommitHandlers) {
    this.#notifier = notifier;
    this.#handlers = handlers;
  }

  get size(): number {
    return this.#pending.length;
  }

  /** Adds a stored message; sends the batch once it is full. */
  async add(item: StoredAndDescribed): Promise<void> {
    this.#pending.push(item);
    if (this.#pending.length >= this.#notifier.maxBatchSize) await this.flush();
  }

  /** Sends what is pending now (also a partial batch), then marks the accepted ones for deletion. */
  async flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let results: Awaited<ReturnType<Notifier['send']>>;
    try {
      const signal = this.#handlers.signal;
      results = await this.#notifier.send(
        batch.map((item) => item.notification),
        { signal },
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      for (const item of batch) this.#handlers.notifyFailed(item, reason);
      return;
    }
    const byEntry = new Map(results.map((result) => [result.entryId, result]));
    const accepted: StoredAndDescribed[] = [];
    for (const item of batch) {
      const result = byEntry.get(item.notification.entryId);
      if (result?.ok) accepted.push(item);
      else
        this.#handlers.notifyFailed(item, result && !result.ok ? result.reason : 'no result for this entry');
    }
    await Promise.all(accepted.map((item) => this.#handlers.notified(item)));
  }
}
