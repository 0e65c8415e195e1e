/**
 * Counts and skips of one mailbox run, turned into its MailboxOutcome at the end. Every counter lives
 * here and changes only through the methods below, each named for what happened to a message, so the
 * outcome's numbers cannot drift from what the run did.
 */
import type { QuitResult } from '../pop3-client/client.ts';
import { classifyFailure, oneLine } from './classify-failure.ts';
import type { ConnectionContext } from './connection-hints.ts';
import {
  type DryRunEntry,
  emptyCounts,
  type KeepCounts,
  type MailboxOutcome,
  type OutcomeCounts,
  type SkippedMessage,
} from './outcome.ts';
import type { OutcomeReason } from './reasons.ts';

export interface Progress {
  readonly mailboxId: string;
  readonly retrieved: number;
  readonly bytesRetrieved: number;
  readonly deleted: number;
  /**
   * What this run set out to retrieve (the listing within the per-run limits), once it is known, and
   * the numbers of the messages that will get a MessageEvent, ascending (the ones to retrieve and the
   * ones left by the size limit), so a listener can show the events in message order.
   */
  readonly planned?: { readonly messages: number; readonly bytes: number; readonly msgs: readonly number[] };
}

/**
 * What became of one message in this run, once that is settled: DELE acknowledged (deleted once QUIT
 * commits), or skipped with a reason. Messages still in flight when a run fails get no event.
 */
export interface MessageEvent {
  readonly mailboxId: string;
  readonly msg: number;
  readonly uidl: string | undefined;
  /** Octets stored; undefined when it was not stored. */
  readonly size: number | undefined;
  /** Object key; undefined when it was not stored. */
  readonly key: string | undefined;
  readonly stored: boolean;
  readonly notified: boolean;
  /** DELE acknowledged; the deletion is committed by QUIT. */
  readonly deleted: boolean;
  readonly skipped?: SkippedMessage['reason'];
  readonly detail?: string;
}

interface StoredEntry {
  readonly size: number;
  readonly key: string;
  notified: boolean;
}

/** Why a run stopped before it went through its plan. */
export interface Stop {
  readonly reason: OutcomeReason;
  readonly message: string;
}

type Message = Pick<SkippedMessage, 'msg' | 'uidl'>;

export class RunRecord {
  readonly #counts: OutcomeCounts = emptyCounts();
  readonly #skipped: SkippedMessage[] = [];
  /** Messages marked with DELE and acknowledged; committed only by a confirmed QUIT. */
  #markedForDeletion = 0;
  /** Keep mode: counts of the kept messages (deletedAfterDays holds the DELEs until QUIT confirms them). */
  #keep: KeepCounts | undefined;
  /** A message was (partly) retrieved but not committed: with EXPIRE 0 the session must not end with QUIT. */
  #retrievedButNotCommitted = false;
  #consecutiveStoreFailures = 0;
  #consecutiveNotifyFailures = 0;
  #stop: Stop | undefined;
  readonly #mailboxId: string;
  readonly #startedAt = performance.now();
  readonly #onProgress: ((progress: Progress) => void) | undefined;
  #planned: Progress['planned'];
  readonly #onMessage: ((event: MessageEvent) => void) | undefined;
  /** Stored messages whose fate is not settled yet, only kept for onMessage. */
  readonly #storedByMsg = new Map<number, StoredEntry>();

  constructor(
    mailboxId: string,
    onProgress?: (progress: Progress) => void,
    onMessage?: (event: MessageEvent) => void,
  ) {
    this.#mailboxId = mailboxId;
    this.#onProgress = onProgress;
    this.#onMessage = onMessage;
  }

  /** Messages on the server at login. */
  found(count: number): void {
    this.#counts.found = count;
  }

  /** The messages this run will retrieve and their listed sizes: the totals progress counts toward. */
  planned(messages: number, bytes: number, msgs: readonly number[]): void {
    this.#planned = { messages, bytes, msgs };
    this.#progress();
  }

  /** Left on the server by rule (oversized by LIST): not a failure. */
  leftOversized(entry: Message, detail: string): void {
    this.#skip({ ...entry, reason: 'oversized', detail });
  }

  /** RETR was cut off at the size limit (the LIST size was wrong): left by rule, but partly retrieved. */
  retrievalCutOff(entry: Message, detail: string): void {
    this.#retrievedButNotCommitted = true;
    this.#skip({ ...entry, reason: 'oversized', detail });
  }

  /** RETR -ERR: nothing was retrieved; the message stays for the next run. */
  retrievalRefused(entry: Message, detail: string): void {
    this.#uncommitted({ ...entry, reason: 'retr-refused', detail });
  }

  retrieved(bytes: number): void {
    this.#counts.retrieved++;
    this.#counts.bytesRetrieved += bytes;
    this.#progress();
  }

  #progress(): void {
    this.#onProgress?.({
      mailboxId: this.#mailboxId,
      retrieved: this.#counts.retrieved,
      bytesRetrieved: this.#counts.bytesRetrieved,
      deleted: this.#markedForDeletion,
      ...(this.#planned === undefined ? {} : { planned: this.#planned }),
    });
  }

  /** 1. Durably stored, checksum verified. */
  stored(entry?: Message & { readonly size: number; readonly key: string }): void {
    if (entry && this.#onMessage) this.#storedByMsg.set(entry.msg, { ...entry, notified: false });
    this.#counts.stored++;
    this.#consecutiveStoreFailures = 0;
  }

  /** Resolves with how many stores have now failed in a row. */
  storeFailed(entry: Message, detail: string): number {
    this.#retrievedButNotCommitted = true;
    this.#uncommitted({ ...entry, reason: 'store-failed', detail });
    return ++this.#consecutiveStoreFailures;
  }

  /** 2. Its notification was accepted. */
  notified(entry?: Message): void {
    const stored = entry && this.#storedByMsg.get(entry.msg);
    if (stored) stored.notified = true;
    this.#counts.notified++;
    this.#consecutiveNotifyFailures = 0;
  }

  /** Stored, but not notified. Resolves with how many notifications have now failed in a row. */
  notifyFailed(entry: Message, detail: string): number {
    this.#retrievedButNotCommitted = true;
    this.#uncommitted({ ...entry, reason: 'notify-failed', detail });
    return ++this.#consecutiveNotifyFailures;
  }

  /**
   * 3. DELE acknowledged; committed only by a confirmed QUIT. `afterDays`: keep mode's deleteAfterDays
   * (the message was ingested in an earlier run).
   */
  markedForDeletion(entry?: Message, how?: { afterDays: true }): void {
    this.#markedForDeletion++;
    if (entry) this.#settled(entry, { deleted: true });
    if (how?.afterDays) this.#keeping().deletedAfterDays++;
  }

  /** The run is in keep mode: its outcome carries KeepCounts (also when they are all zero). */
  keepMode(): void {
    this.#keeping();
  }

  /** Keep mode: a listed message the state already holds stays on the server. */
  keptOnServer(): void {
    this.#keeping().kept++;
  }

  /** Keep mode: a new message was committed and enters the state (instead of DELE). */
  ingestedKept(): void {
    this.#keeping().ingested++;
  }

  /** Keep mode, first run: a message recorded in the state without being ingested (`initial`). */
  recordedByInitial(): void {
    this.#keeping().recordedByInitial++;
  }

  /** Keep mode: a message due for deletion by the days stays, unproven (see KeepCounts.deletionWithheld). */
  deletionWithheld(): void {
    const keep = this.#keeping();
    keep.deletionWithheld = (keep.deletionWithheld ?? 0) + 1;
  }

  /** Keep mode: a message due for deletion differs from the one stored under its unique-id (KeepCounts.reusedUidl). */
  reusedUidl(): void {
    const keep = this.#keeping();
    keep.reusedUidl = (keep.reusedUidl ?? 0) + 1;
  }

  #keeping(): KeepCounts {
    this.#keep ??= { kept: 0, ingested: 0, deletedAfterDays: 0, recordedByInitial: 0 };
    return this.#keep;
  }

  /** DELE -ERR: stored and notified, but stays on the server; the next run stores the same key again. */
  deletionRefused(entry: Message, detail: string): void {
    this.#uncommitted({ ...entry, reason: 'dele-refused', detail });
  }

  /** Stops the run: start nothing new, commit what is done. The first stop wins. */
  stop(stop: Stop): void {
    this.#stop ??= stop;
  }

  get stopped(): Stop | undefined {
    return this.#stop;
  }

  /** With EXPIRE 0 the server removes every message RETR'd in a session ended by QUIT, committed or not. */
  mustNotQuit(expire: number | 'NEVER' | undefined): boolean {
    return this.#retrievedButNotCommitted && expire === 0;
  }

  /** 4. The session ended: with the QUIT result, or undefined when it was closed without QUIT. */
  finish(quit: QuitResult | undefined, stoppedEarly: Stop | undefined): MailboxOutcome {
    const confirmed = quit?.confirmed ?? false;
    this.#counts.deleted = confirmed ? this.#markedForDeletion : 0;
    this.#counts.left = this.#counts.found - this.#counts.deleted;
    const stop = this.#stop ?? stoppedEarly;
    if (stop) return this.#outcome('retry-later', confirmed, stop);
    if (!quit) {
      return this.#outcome('retry-later', false, {
        reason: 'not-committed',
        message:
          'closed without QUIT because the server expires retrieved messages (EXPIRE 0) and one could not be ' +
          'committed; nothing was deleted, the next run retries',
      });
    }
    if (!confirmed && this.#markedForDeletion > 0) {
      return this.#outcome('retry-later', false, {
        reason: 'quit-not-confirmed',
        message: `the server did not confirm QUIT${quit.text ? ` (${quit.text})` : ''}; deletions were not committed`,
      });
    }
    if (this.#counts.uncommitted > 0) {
      const n = this.#counts.uncommitted;
      return this.#outcome('partial', confirmed, {
        reason: 'uncommitted',
        message: `${n} message${n === 1 ? '' : 's'} could not be committed and stay${n === 1 ? 's' : ''} on the server for the next run`,
      });
    }
    return this.#outcome('ok', confirmed, undefined);
  }

  /** A dry run: nothing retrieved, stored, notified or deleted; what a real run would do, per message. */
  finishDryRun(entries: readonly DryRunEntry[], quit: QuitResult | undefined, note: string): MailboxOutcome {
    this.#counts.deleted = 0;
    this.#counts.left = this.#counts.found;
    const retrieve = entries.filter((entry) => entry.action === 'retrieve').length;
    const message = `dry run: a real run would retrieve ${retrieve} of ${entries.length} messages; nothing was changed${note}`;
    return {
      ...this.#outcome('ok', quit?.confirmed ?? false, { reason: 'dry-run', message }),
      dryRun: entries,
    };
  }

  /** `connection` lets a usual configuration mistake be named with its fix (lib/pipeline/connection-hints.ts). */
  fail(error: unknown, connection?: ConnectionContext): MailboxOutcome {
    this.#counts.deleted = 0;
    this.#counts.left = this.#counts.found;
    // A server that said "rate limit" and then dropped the connection is still rate-limited, not a network fault.
    if (this.#stop?.reason === 'rate-limited') return this.#outcome('retry-later', false, this.#stop);
    const { status, reason, message, retryAfterSeconds } = classifyFailure(error, connection);
    const outcome = this.#outcome(status, false, { reason, message });
    return retryAfterSeconds === undefined ? outcome : { ...outcome, retryAfterSeconds };
  }

  #settled(entry: Message, fate: { deleted: boolean; skipped?: SkippedMessage }): void {
    if (!this.#onMessage) return;
    const stored = this.#storedByMsg.get(entry.msg);
    this.#storedByMsg.delete(entry.msg);
    this.#onMessage({
      mailboxId: this.#mailboxId,
      msg: entry.msg,
      uidl: entry.uidl,
      size: stored?.size,
      key: stored?.key,
      stored: stored !== undefined,
      notified: stored?.notified ?? false,
      deleted: fate.deleted,
      ...(fate.skipped ? { skipped: fate.skipped.reason, detail: fate.skipped.detail } : {}),
    });
  }

  #skip(entry: SkippedMessage): void {
    this.#settled(entry, { deleted: false, skipped: entry });
    this.#skipped.push(entry);
    this.#counts.skipped++;
  }

  #uncommitted(entry: SkippedMessage): void {
    this.#skip(entry);
    this.#counts.uncommitted++;
  }

  #outcome(status: MailboxOutcome['status'], quitConfirmed: boolean, why: Stop | undefined): MailboxOutcome {
    const keep = this.#keep && {
      ...this.#keep,
      deletedAfterDays: quitConfirmed ? this.#keep.deletedAfterDays : 0,
    };
    return {
      mailboxId: this.#mailboxId,
      status,
      // A stop's message may quote a server's text: one line, as every outcome message (oneLine).
      ...(why === undefined ? {} : { ...why, message: oneLine(why.message) }),
      counts: { ...this.#counts },
      ...(keep ? { keep } : {}),
      skipped: [...this.#skipped],
      quitConfirmed,
      durationMs: Math.round(performance.now() - this.#startedAt),
    };
  }
}
