/** Counts and skips of one mailbox run, turned into its MailboxOutcome at the end. */
import type { QuitResult } from '../pop3-client/client.ts';
import { classifyFailure } from './classify-failure.ts';
import { emptyCounts, type MailboxOutcome, type OutcomeCounts, type SkippedMessage } from './outcome.ts';

export interface Progress {
  readonly mailboxId: string;
  readonly retrieved: number;
  readonly bytesRetrieved: number;
  readonly deleted: number;
}

export class RunRecord {
  readonly counts: OutcomeCounts = emptyCounts();
  readonly skipped: SkippedMessage[] = [];
  /** Messages marked with DELE and acknowledged; committed only by a confirmed QUIT. */
  markedForDeletion = 0;
  /** A message was retrieved but not committed: with EXPIRE 0 the session must not end with QUIT. */
  retrievedButNotCommitted = false;
  readonly #mailboxId: string;
  readonly #startedAt = performance.now();
  readonly #onProgress: ((progress: Progress) => void) | undefined;

  constructor(mailboxId: string, onProgress?: (progress: Progress) => void) {
    this.#mailboxId = mailboxId;
    this.#onProgress = onProgress;
  }

  skip(entry: SkippedMessage): void {
    this.skipped.push(entry);
    this.counts.skipped++;
  }

  retrieved(bytes: number): void {
    this.counts.retrieved++;
    this.counts.bytesRetrieved += bytes;
    this.#onProgress?.({
      mailboxId: this.#mailboxId,
      retrieved: this.counts.retrieved,
      bytesRetrieved: this.counts.bytesRetrieved,
      deleted: this.markedForDeletion,
    });
  }

  finish(
    quit: QuitResult | undefined,
    stoppedEarly: { reason: string; message: string } | undefined,
  ): MailboxOutcome {
    const confirmed = quit?.confirmed ?? false;
    this.counts.deleted = confirmed ? this.markedForDeletion : 0;
    this.counts.left = this.counts.found - this.counts.deleted;
    if (stoppedEarly) return this.#outcome('retry-later', confirmed, stoppedEarly);
    if (!quit) {
      return this.#outcome('retry-later', false, {
        reason: 'not-committed',
        message:
          'closed without QUIT because the server expires retrieved messages (EXPIRE 0) and one could not be ' +
          'committed; nothing was deleted, the next run retries',
      });
    }
    if (!confirmed && this.markedForDeletion > 0) {
      return this.#outcome('retry-later', false, {
        reason: 'quit-not-confirmed',
        message: `the server did not confirm QUIT${quit.text ? ` (${quit.text})` : ''}; deletions were not committed`,
      });
    }
    return this.#outcome('ok', confirmed, undefined);
  }

  fail(error: unknown): MailboxOutcome {
    this.counts.deleted = 0;
    this.counts.left = this.counts.found;
    const { status, reason, message } = classifyFailure(error);
    return this.#outcome(status, false, { reason, message });
  }

  #outcome(
    status: MailboxOutcome['status'],
    quitConfirmed: boolean,
    why: { reason: string; message: string } | undefined,
  ): MailboxOutcome {
    return {
      mailboxId: this.#mailboxId,
      status,
      ...(why ?? {}),
      counts: { ...this.counts },
      skipped: [...this.skipped],
      quitConfirmed,
      durationMs: Math.round(performance.now() - this.#startedAt),
    };
  }
}
