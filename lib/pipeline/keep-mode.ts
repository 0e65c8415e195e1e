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
 *   ingested (not those `initial` recorded), at least that many days ago by ports.clock, and only once
 *   the server's copy hashed to the digest stored with them (lib/pipeline/keep-verify.ts): a unique-id
 *   reused for a message of the same size is caught there and the message ingested, not deleted.
 * - No writer overwrites another: the save names the version loaded (S3 If-Match / If-None-Match). The
 *   state is saved BEFORE QUIT: if the save fails (conflict, S3 down) the session is closed without QUIT,
 *   so none of this run's DELEs is committed, and the outcome says why (`state-conflict`, `state-store`).
 *   A message DELE'd after days stays in the state until a later listing no longer shows it (pruning), so
 *   a QUIT that fails after the save only means the next run DELEs it again.
 * - The whole listing is needed to know what is new and what to prune, so keep mode lifts the per-run
 *   listing cap to KEEP_MODE_MAX_LISTING_ENTRIES entries and KEEP_MODE_MAX_LISTING_OCTETS octets
 *   (lib/pop3/limits.ts); a longer listing fails the run (`listing-too-long`, a person must act) while it
 *   is read, before memory is at risk, instead of silently never seeing the messages past the cap. The
 *   state holds only listed messages, each under a bounded id (lib/pipeline/keep-state-id.ts), so a
 *   state of an accepted listing always saves and loads (MAX_STATE_TEXT_OCTETS).
 *
 * Saving once per run is enough because the per-run limits bound what a lost run costs (it is ingested
 * again), and every save writes the whole state (its cost at 100,000 UIDLs: bench/notes.md, "Keep-mode
 * state"): saving more often would cost more than it saves.
 */
import type { KeepConfig, MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { Pop3MessageTooLargeError, Pop3ServerError } from '../pop3/errors.ts';
import { KEEP_MODE_MAX_LISTING_ENTRIES, KEEP_MODE_MAX_LISTING_OCTETS } from '../pop3/limits.ts';
import type { ListEntry, UidlEntry } from '../pop3/parsers.ts';
import type { Pop3Client } from '../pop3-client/client.ts';
import type { Clock, KeptMessage, MailboxStateStore } from '../ports.ts';
import { StateConflictError, StateTooLargeError } from '../ports.ts';
import type { StoredAndDescribed } from './commit-batch.ts';
import { KeepModeError } from './errors.ts';
import { loadedStateId, stateIdOf } from './keep-state-id.ts';
import { type DueMessage, verifyDue } from './keep-verify.ts';
import { planRetrievals, type RetrievalPlan } from './retrieval-plan.ts';
import type { RunRecord } from './run-record.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

interface ListedMessage {
  readonly msg: number;
  readonly uidl: string;
  /** The message's name in the state (lib/pipeline/keep-state-id.ts). */
  readonly id: string;
  readonly size: number;
}

/** A message due for deletion by the days, with what the listing and the state say of it. */
interface DueEntry extends DueMessage {
  readonly listed: ListedMessage;
  readonly kept: KeptMessage;
}

/** One keep-mode run: created before the listing, asked for the plan, told each commit, finished before QUIT. */
export class KeepRun {
  readonly #mailbox: MailboxConfig;
  readonly #keep: KeepConfig;
  readonly #store: MailboxStateStore;
  readonly #clock: Clock;
  readonly #run: RunRecord;
  readonly #deadline: Deadline;
  /** The version of the state loaded, which the save names; undefined: no state yet. */
  #version: string | undefined;
  /** State id → what the state says, for the messages listed now (the rest is pruned). */
  readonly #next = new Map<string, KeptMessage>();
  readonly #dueForDeletion: ListedMessage[] = [];
  /** Message number → LIST size and state id, for the commits. */
  readonly #listed = new Map<number, ListedMessage>();

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

  /**
   * Which messages are new (to ingest, within the per-run limits) and which are due for deletion. Due
   * messages are read again through `verifyWith` and compared with their stored digest (keep-verify.ts);
   * without it (a dry run) none is deleted.
   */
  async plan(
    listing: readonly ListEntry[] & { readonly omitted: number },
    uidls: (readonly UidlEntry[] & { readonly omitted: number }) | undefined,
    verifyWith?: Pop3Client,
  ): Promise<RetrievalPlan> {
    if (uidls === undefined) {
      throw new KeepModeError(
        'no-uidl',
        `mailbox ${this.#mailbox.id}: the server does not offer UIDL, which keep mode needs to tell new messages from ` +
          'kept ones; remove "keep" from this mailbox (or use a server with UIDL)',
      );
    }
    if (listing.omitted > 0 || uidls.omitted > 0)
      throw this.#tooLong(`more than ${KEEP_MODE_MAX_LISTING_ENTRIES} messages`);
    const loaded = await this.#storeCall(() =>
      this.#store.load(this.#mailbox.id, { signal: this.#deadline.signal() }),
    );
    this.#version = loaded?.version;
    const sizeOf = new Map(listing.map((entry) => [entry.msg, entry.octets]));
    for (const { msg, uidl } of uidls) {
      const size = sizeOf.get(msg);
      if (size !== undefined) this.#listed.set(msg, { msg, uidl, id: stateIdOf(uidl), size });
    }
    sizeOf.clear();
    const { fresh, due } = this.#sort(loaded?.state.messages ?? [], verifyWith);
    fresh.push(...(await this.#verify(due, verifyWith)));
    const toIngest = loaded === undefined ? this.#firstRun(fresh) : fresh;
    const ingest = new Set(toIngest.map((message) => message.msg));
    // Messages without a UIDL line cannot be remembered; they are ingested (same key each time) rather than lost.
    const untracked = listing.filter((entry) => !this.#listed.has(entry.msg));
    return planRetrievals(
      [...listing.filter((entry) => ingest.has(entry.msg)), ...untracked].sort((a, b) => a.msg - b.msg),
      uidls,
      this.#mailbox.limits,
    );
  }

  /**
   * Keep mode reads LIST and UIDL under its own octet cap: a listing past it fails while it is read
   * (Pop3MessageTooLargeError), which here becomes the outcome a person can act on.
   */
  listingFailed(error: unknown): unknown {
    if (!(error instanceof Pop3MessageTooLargeError)) return error;
    return this.#tooLong(`more than ${KEEP_MODE_MAX_LISTING_OCTETS} octets of sizes or unique-ids`, error);
  }

  /** Step 3 in keep mode: the committed messages enter the (next) state instead of being deleted. */
  committed(items: readonly StoredAndDescribed[]): void {
    const ingestedAt = this.#clock.now().getTime();
    for (const item of items) {
      const listed = this.#listed.get(item.msg);
      if (item.uidl !== undefined && listed !== undefined) {
        const digest = item.sha256 === undefined ? {} : { sha256: item.sha256 };
        this.#next.set(listed.id, { uidl: listed.id, size: listed.size, ingestedAt, ...digest });
      }
      this.#run.ingestedKept();
    }
  }

  /** After the commits, before QUIT: DELE what is due, then save the state (a failure stops QUIT). */
  async finish(client: Pop3Client): Promise<void> {
    if (!this.#run.stopped) {
      // All at once: the client pipelines them, so a long round trip is paid once, not once per message.
      await Promise.all(
        this.#dueForDeletion.map(async (message) => {
          try {
            await client.dele(message.msg);
            this.#run.markedForDeletion(undefined, { afterDays: true });
          } catch (error) {
            if (!(error instanceof Pop3ServerError)) throw error;
            this.#run.deletionRefused(message, error.message);
          }
        }),
      );
    }
    const messages = [...this.#next.values()];
    await this.#storeCall(() =>
      this.#store.save(this.#mailbox.id, { messages }, this.#version, {
        signal: this.#deadline.signal(),
      }),
    );
  }

  /** Each listed message: new (to ingest), kept, or due for deletion (to verify first). */
  #sort(
    state: readonly KeptMessage[],
    verifyWith: Pop3Client | undefined,
  ): { fresh: ListedMessage[]; due: DueEntry[] } {
    const known = new Map(state.map((kept) => [loadedStateId(kept.uidl), kept]));
    const fresh: ListedMessage[] = [];
    const due: DueEntry[] = [];
    for (const message of this.#listed.values()) {
      const kept = known.get(message.id);
      // Same unique-id, different size: the server reused the unique-id for another message.
      if (kept === undefined || kept.size !== message.size) {
        fresh.push(message);
        continue;
      }
      if (!this.#isDue(kept) || verifyWith === undefined) {
        this.#keepListed(message, kept); // a dry run reads nothing and deletes nothing
      } else if (kept.sha256 === undefined || verifyWith.capabilities.expire === 0) {
        // Nothing to compare with (a state from before digests): no proof, no DELE. With EXPIRE 0 a read
        // would make the server remove the message at QUIT whatever this run decides.
        this.#keepListed(message, kept);
        this.#run.deletionWithheld();
      } else {
        const { msg, uidl, size } = message;
        due.push({ msg, uidl, size, sha256: kept.sha256, listed: message, kept });
      }
    }
    return { fresh, due };
  }

  #isDue(kept: KeptMessage): boolean {
    const days = this.#keep.deleteAfterDays;
    if (days === undefined || kept.ingestedAt === undefined) return false;
    return this.#clock.now().getTime() - kept.ingestedAt >= days * DAY_MS;
  }

  #keepListed(message: ListedMessage, kept: KeptMessage): void {
    this.#next.set(message.id, kept.uidl === message.id ? kept : { ...kept, uidl: message.id });
    this.#run.keptOnServer();
  }

  /** Reads the due messages again; returns those that turned out to be other messages, to ingest. */
  async #verify(due: readonly DueEntry[], client: Pop3Client | undefined): Promise<ListedMessage[]> {
    if (due.length === 0 || client === undefined) return [];
    const verdicts = await verifyDue(client, due, this.#mailbox.limits, this.#deadline);
    const reused: ListedMessage[] = [];
    for (const { listed, kept } of due) {
      const verdict = verdicts.get(listed.msg); // undefined: not read this run, still due next run
      if (verdict === 'different') {
        this.#run.reusedUidl();
        reused.push(listed); // not in the next state unless committed now: the next run ingests it otherwise
        continue;
      }
      this.#keepListed(listed, kept);
      if (verdict === 'same') this.#dueForDeletion.push(listed);
      if (verdict === 'unproven') this.#run.deletionWithheld();
    }
    return reused;
  }

  /** `initial`: which of the messages on the server the first run ingests; the others are recorded only. */
  #firstRun(fresh: readonly ListedMessage[]): readonly ListedMessage[] {
    const initial = this.#keep.initial;
    if (initial === 'all') return fresh;
    const newest = initial === 'none' ? 0 : initial.newest;
    const byAge = [...fresh].sort((a, b) => a.msg - b.msg); // message numbers follow arrival order
    const recordOnly = byAge.slice(0, Math.max(0, byAge.length - newest));
    for (const message of recordOnly) {
      this.#next.set(message.id, { uidl: message.id, size: message.size, ingestedAt: undefined });
      this.#run.recordedByInitial();
    }
    return byAge.slice(recordOnly.length);
  }

  #tooLong(what: string, cause?: unknown): KeepModeError {
    return new KeepModeError(
      'listing-too-long',
      `mailbox ${this.#mailbox.id} lists ${what}, more than keep mode tracks; delete old messages on the ` +
        'server or use deleteAfterDays',
      cause === undefined ? undefined : { cause },
    );
  }

  async #storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StateConflictError)
        throw new KeepModeError('state-conflict', error.message, { cause: error });
      if (error instanceof StateTooLargeError) {
        const fix = 'delete the state object to start over (`initial` applies again)';
        throw new KeepModeError('listing-too-long', `mailbox ${this.#mailbox.id}: ${error.message}; ${fix}`, {
          cause: error,
        });
      }
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
