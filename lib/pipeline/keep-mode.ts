/**
 * Keep mode (`keep: true`): messages stay on the server, and the UIDLs already ingested are the mailbox's
 * state (a MailboxStateStore: one S3 object or one local file). A run ingests only what is not in it.
 *
 * The promises, and how each is kept:
 * - Nothing skipped by a crash: a UIDL enters the state only after its commit (stored + notified), and the
 *   state is written once, at the end of the run. A run that dies anywhere before that leaves the old
 *   state, so the next run ingests the same messages again: same object keys (content-addressed), one more
 *   notification (at least once), never a skip.
 * - Nothing hidden by a reused UIDL: the state keeps each UIDL with the LIST size it had; a listed message
 *   whose size differs is a different message and is ingested as new (its object key holds its own hash).
 * - Nothing deleted that was not ingested: `deleteAfterDays` DELEs only messages the state says were
 *   ingested (not those `initial` recorded), at least that many days ago by ports.clock.
 * - No writer overwrites another: the save names the version loaded (S3 If-Match / If-None-Match). The
 *   state is saved BEFORE QUIT: if the save fails (conflict, S3 down) the session is closed without QUIT,
 *   so none of this run's DELEs is committed, and the outcome says why (`state-conflict`, `state-store`).
 *   A message DELE'd after days stays in the state until a later listing no longer shows it (pruning), so
 *   a QUIT that fails after the save only means the next run DELEs it again.
 * - The whole listing is needed to know what is new and what to prune, so keep mode lifts the per-run
 *   listing cap to KEEP_MODE_MAX_LISTING_ENTRIES; a longer listing fails the run (`listing-too-long`)
 *   instead of silently never seeing the messages past the cap.
 *
 * Saving once per run is enough because the per-run limits bound what a lost run costs (it is ingested
 * again), and a state write is ~1 s at 100,000 UIDLs (BENCHMARKS.md): saving more often would cost more
 * than it saves.
 */
import type { KeepConfig, MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { Pop3ServerError } from '../pop3/errors.ts';
import type { ListEntry, UidlEntry } from '../pop3/parsers.ts';
import type { Pop3Client } from '../pop3-client/client.ts';
import type { Clock, KeptMessage, MailboxStateStore, VersionedState } from '../ports.ts';
import { StateConflictError } from '../ports.ts';
import type { StoredAndDescribed } from './commit-batch.ts';
import type { OutcomeReason } from './reasons.ts';
import { planRetrievals, type RetrievalPlan } from './retrieval-plan.ts';
import type { RunRecord } from './run-record.ts';

/**
 * Listing entries a keep-mode run keeps: it must see every message to know which are new. 1,000,000 is
 * ten times the 100,000 kept messages BENCHMARKS.md measures; an entry costs ~150 octets while listed.
 */
export const KEEP_MODE_MAX_LISTING_ENTRIES = 1_000_000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A keep-mode run cannot go on; `reason` is the outcome's (lib/pipeline/reasons.ts). */
export class KeepModeError extends Error {
  override readonly name = 'KeepModeError';
  readonly reason: Extract<OutcomeReason, 'no-uidl' | 'listing-too-long' | 'state-conflict' | 'state-store'>;

  constructor(reason: KeepModeError['reason'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

interface ListedMessage {
  readonly msg: number;
  readonly uidl: string;
  readonly size: number;
}

/** One keep-mode run: created before the listing, asked for the plan, told each commit, finished before QUIT. */
export class KeepRun {
  readonly #mailbox: MailboxConfig;
  readonly #keep: KeepConfig;
  readonly #store: MailboxStateStore;
  readonly #clock: Clock;
  readonly #run: RunRecord;
  readonly #deadline: Deadline;
  #loaded: VersionedState | undefined;
  /** UIDL → what the state says, for the messages listed now (the rest is pruned). */
  readonly #next = new Map<string, KeptMessage>();
  readonly #dueForDeletion: ListedMessage[] = [];
  readonly #sizeOf = new Map<number, number>();

  constructor(
    mailbox: MailboxConfig,
    ports: { readonly stateStore: MailboxStateStore; readonly clock: Clock },
    run: RunRecord,
    deadline: Deadline,
  ) {
    this.#mailbox = mailbox;
    this.#keep = mailbox.keep ?? { deleteAfterDays: undefined, initial: 'all' };
    this.#store = ports.stateStore;
    this.#clock = ports.clock;
    this.#run = run;
    this.#deadline = deadline;
    run.keepMode();
  }

  /** Which messages are new (to ingest, within the per-run limits) and which are due for deletion. */
  async plan(
    listing: readonly ListEntry[] & { readonly omitted: number },
    uidls: (readonly UidlEntry[] & { readonly omitted: number }) | undefined,
  ): Promise<RetrievalPlan> {
    if (uidls === undefined) {
      throw new KeepModeError(
        'no-uidl',
        `mailbox ${this.#mailbox.id}: the server does not offer UIDL, which keep mode needs to tell new messages from ` +
          'kept ones; remove "keep" from this mailbox (or use a server with UIDL)',
      );
    }
    if (listing.omitted > 0 || uidls.omitted > 0) {
      throw new KeepModeError(
        'listing-too-long',
        `mailbox ${this.#mailbox.id} lists more than ${KEEP_MODE_MAX_LISTING_ENTRIES} messages, more than keep mode ` +
          'tracks; delete old messages on the server or use deleteAfterDays',
      );
    }
    this.#loaded = await this.#storeCall(() =>
      this.#store.load(this.#mailbox.id, { signal: this.#deadline.signal() }),
    );
    const sizeOf = new Map(listing.map((entry) => [entry.msg, entry.octets]));
    const listed: ListedMessage[] = [];
    for (const { msg, uidl } of uidls) {
      const size = sizeOf.get(msg);
      if (size !== undefined) listed.push({ msg, uidl, size });
    }
    for (const entry of listing) this.#sizeOf.set(entry.msg, entry.octets);
    const known = new Map(this.#loaded?.state.messages.map((kept) => [kept.uidl, kept]));
    const now = this.#clock.now().getTime();
    const fresh: ListedMessage[] = [];
    for (const message of listed) {
      const kept = known.get(message.uidl);
      // Same UIDL, different size: the server reused the UIDL for another message.
      if (kept === undefined || kept.size !== message.size) {
        fresh.push(message);
        continue;
      }
      this.#next.set(kept.uidl, kept);
      this.#run.keptOnServer();
      const days = this.#keep.deleteAfterDays;
      if (days !== undefined && kept.ingestedAt !== undefined && now - kept.ingestedAt >= days * DAY_MS) {
        this.#dueForDeletion.push(message);
      }
    }
    const toIngest = this.#loaded === undefined ? this.#firstRun(fresh) : fresh;
    const ingest = new Set(toIngest.map((message) => message.msg));
    // Messages without a UIDL line cannot be remembered; they are ingested (same key each time) rather than lost.
    const withUidl = new Set(listed.map((message) => message.msg));
    const untracked = listing.filter((entry) => !withUidl.has(entry.msg));
    return planRetrievals(
      [...listing.filter((entry) => ingest.has(entry.msg)), ...untracked].sort((a, b) => a.msg - b.msg),
      uidls,
      this.#mailbox.limits,
    );
  }

  /** Step 3 in keep mode: the committed messages enter the (next) state instead of being deleted. */
  committed(items: readonly StoredAndDescribed[]): void {
    const ingestedAt = this.#clock.now().getTime();
    for (const item of items) {
      const size = this.#sizeOf.get(item.msg);
      if (item.uidl !== undefined && size !== undefined)
        this.#next.set(item.uidl, { uidl: item.uidl, size, ingestedAt });
      this.#run.ingestedKept();
    }
  }

  /** After the commits, before QUIT: DELE what is due, then save the state (a failure stops QUIT). */
  async finish(client: Pop3Client): Promise<void> {
    if (!this.#run.stopped) {
      for (const message of this.#dueForDeletion) {
        try {
          await client.dele(message.msg);
          this.#run.markedForDeletion(undefined, { afterDays: true });
        } catch (error) {
          if (!(error instanceof Pop3ServerError)) throw error;
          this.#run.deletionRefused(message, error.message);
        }
      }
    }
    const messages = [...this.#next.values()];
    await this.#storeCall(() =>
      this.#store.save(this.#mailbox.id, { messages }, this.#loaded?.version, {
        signal: this.#deadline.signal(),
      }),
    );
  }

  /** `initial`: which of the messages on the server the first run ingests; the others are recorded only. */
  #firstRun(fresh: readonly ListedMessage[]): readonly ListedMessage[] {
    const initial = this.#keep.initial;
    if (initial === 'all') return fresh;
    const newest = initial === 'none' ? 0 : initial.newest;
    const byAge = [...fresh].sort((a, b) => a.msg - b.msg); // message numbers follow arrival order
    const recordOnly = byAge.slice(0, Math.max(0, byAge.length - newest));
    for (const message of recordOnly) {
      this.#next.set(message.uidl, { uidl: message.uidl, size: message.size, ingestedAt: undefined });
      this.#run.recordedByInitial();
    }
    return byAge.slice(recordOnly.length);
  }

  async #storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StateConflictError)
        throw new KeepModeError('state-conflict', error.message, { cause: error });
      const detail = error instanceof Error ? error.message : String(error);
      throw new KeepModeError('state-store', `mailbox ${this.#mailbox.id}: ${detail}`, { cause: error });
    }
  }
}

/** The KeepRun of a `keep: true` mailbox; such a mailbox cannot run without a state store. */
export function keepRunFor(
  mailbox: MailboxConfig,
  ports: { readonly stateStore?: MailboxStateStore; readonly clock: Clock },
  run: RunRecord,
  deadline: Deadline,
): KeepRun | undefined {
  if (mailbox.keep === undefined) return undefined;
  const { stateStore } = ports;
  if (stateStore === undefined) {
    throw new KeepModeError(
      'state-store',
      `mailbox ${mailbox.id} is in keep mode, but this poller has no state store`,
    );
  }
  return new KeepRun(mailbox, { stateStore, clock: ports.clock }, run, deadline);
}
