/**
 * `mailbox-poller replay`: sends the notifications of stored objects again, each built from the object
 * as the original was (lib/replay/rebuild.ts), with the same body and the same deduplication key (the
 * object key), through the Notifier port.
 *
 * Objects are taken in key order; `concurrency` of them are read at once (HeadObject, then the header
 * section), but each is decided on in key order, so `max` stops at an exact key and the resume point
 * (lib/replay/cursor.ts) is one key. Memory holds one listing page (at most 1,000 keys), the read-ahead
 * window and one batch. `stop` (SIGINT, the deadline) ends the run softly: nothing new is taken,
 * requests in flight are let finish (an abandoned read would only be read again; an abandoned send
 * could leave a notification sent but not counted, and so sent twice), the batch being filled is
 * sent, and the result says where to go on.
 */
import { buildNotification } from '../notification/index.ts';
import type { Notifier, OutgoingNotification } from '../ports.ts';
import { ResumeCursor } from './cursor.ts';
import type { RequestPacer } from './pacer.ts';
import { inRange, mayBeInRange, type TimeRange } from './range.ts';
import { type MailboxSettings, type Rebuilt, rebuildInput, retrievalTimeOf } from './rebuild.ts';
import type { ListedObject, ReplaySource } from './source.ts';

export interface ReplayRequest {
  readonly source: ReplaySource;
  /** Where the notifications go; undefined only for a dry run. */
  readonly notifier: Notifier | undefined;
  /** The store's key prefix (`--key-prefix`): keys are checked against the store's key function with it. */
  readonly keyPrefix: string;
  /** Where to list: the key prefix and `--prefix` (e.g. `support/`). */
  readonly listPrefix: string;
  readonly startAfter: string | undefined;
  readonly range: TimeRange;
  readonly dryRun: boolean;
  /** Send objects that do not keep every input, rebuilt with stand-ins; otherwise they are skipped. */
  readonly approximate: boolean;
  /** Stop after this many notifications (sent, or counted with `dryRun`). */
  readonly max: number | undefined;
  /** Objects read at once. */
  readonly concurrency: number;
  /** The mailboxes of `--config`, for objects that do not keep host, username or trustedAuthservId. */
  readonly settings: ReadonlyMap<string, MailboxSettings> | undefined;
  /** Paces the notifier's requests; the source paces its own. */
  readonly pacer: RequestPacer;
  /** Aborted: take no more objects, send the batch being filled, report where to go on. */
  readonly stop: AbortSignal;
  readonly onEvent?: (event: ReplayEvent) => void;
}

export interface ReplayCounts {
  /** Objects looked at (listed under the prefix and shaped like a message key). */
  examined: number;
  inRange: number;
  /** Notifications sent (with `dryRun`: that would be sent). */
  sent: number;
  /** In range but not every input kept, and not `approximate`. */
  skippedInexact: number;
  /** In range but not rebuildable at all. */
  unusable: number;
}

export type ReplayEvent =
  | { readonly kind: 'progress'; readonly counts: Readonly<ReplayCounts> }
  | {
      readonly kind: 'inexact';
      readonly key: string;
      readonly missing: readonly string[];
      readonly sent: boolean;
    }
  | { readonly kind: 'unusable'; readonly key: string; readonly reason: string };

export interface ReplayResult {
  readonly counts: Readonly<ReplayCounts>;
  /** done: every object listed; max: `max` reached; stopped: `stop` aborted; failed: see `failure`. */
  readonly end: 'done' | 'max' | 'stopped' | 'failed';
  readonly failure?: { readonly key: string; readonly error: unknown };
  /** `--start-after` for the rest; undefined: nothing was finished (start where this run started). */
  readonly resumeAfter: string | undefined;
}

/** A key the store writes: `<keyPrefix><mailboxId>/…/<sha256>.eml`, not under a dot folder (`.incoming/`, `.health/`). */
export function isMessageKey(key: string, keyPrefix: string): boolean {
  if (!key.startsWith(keyPrefix)) return false;
  const rest = key.slice(keyPrefix.length);
  return !rest.startsWith('.') && /^[^/]+\/(uidl|uidl-sha256|sha256)\/(.+\/)?[0-9a-f]{64}\.eml$/.test(rest);
}

/** The first listing pass: how many objects the replay will look at, for the progress total. */
export async function countCandidates(request: ReplayRequest): Promise<number> {
  let total = 0;
  for await (const page of request.source.list(request.listPrefix, request.startAfter)) {
    for (const listed of page) if (isCandidate(request, listed)) total++;
    if (request.stop.aborted) break;
  }
  return total;
}

function isCandidate(request: ReplayRequest, listed: ListedObject): boolean {
  return isMessageKey(listed.key, request.keyPrefix) && mayBeInRange(request.range, listed.lastModified);
}

type Examined =
  | { readonly kind: 'out' }
  | { readonly kind: 'in'; readonly rebuilt: Rebuilt; readonly body: string | undefined }
  | { readonly kind: 'error'; readonly error: unknown };

interface Pending {
  readonly key: string;
  readonly examined: Promise<Examined>;
}

export async function replay(request: ReplayRequest): Promise<ReplayResult> {
  return new ReplayRun(request).run();
}

class ReplayRun {
  readonly #request: ReplayRequest;
  readonly #cursor: ResumeCursor;
  readonly #counts: ReplayCounts = { examined: 0, inRange: 0, sent: 0, skippedInexact: 0, unusable: 0 };
  readonly #batch: OutgoingNotification[] = [];
  #claimed = 0;
  /** Every key listed was taken on: a stop after that has nothing left to stop. */
  #listed = false;
  #end: ReplayResult['end'] | undefined;
  #failure: ReplayResult['failure'];

  constructor(request: ReplayRequest) {
    this.#request = request;
    this.#cursor = new ResumeCursor(request.startAfter);
  }

  async run(): Promise<ReplayResult> {
    const { source, listPrefix, startAfter, concurrency } = this.#request;
    const window: Pending[] = [];
    try {
      listing: for await (const page of source.list(listPrefix, startAfter)) {
        for (const listed of page) {
          if (this.#stopping()) break listing;
          if (!isMessageKey(listed.key, this.#request.keyPrefix)) continue;
          this.#cursor.begin(listed.key);
          window.push({ key: listed.key, examined: this.#examine(listed) });
          if (window.length >= concurrency) await this.#decide(window.shift()!);
        }
      }
      this.#listed = !this.#stopping();
      while (window.length > 0 && !this.#stopping()) await this.#decide(window.shift()!);
    } catch (error) {
      // A listing that failed: objects still being read stay undecided, the resume point before them.
      this.#fail(`the listing after ${this.#cursor.resumeAfter ?? 'the start'}`, error);
    }
    await this.#flush();
    this.#end ??= this.#listed && window.length === 0 ? 'done' : 'stopped';
    if (this.#end !== 'done' && window.length > 0) await Promise.allSettled(window.map((p) => p.examined));
    return {
      counts: { ...this.#counts },
      end: this.#end,
      ...(this.#failure === undefined ? {} : { failure: this.#failure }),
      resumeAfter: this.#cursor.resumeAfter,
    };
  }

  #stopping(): boolean {
    return this.#end !== undefined || this.#request.stop.aborted;
  }

  async #examine(listed: ListedObject): Promise<Examined> {
    const { source, range, dryRun, keyPrefix, settings } = this.#request;
    try {
      if (!mayBeInRange(range, listed.lastModified)) return { kind: 'out' };
      const object = await source.head(listed.key);
      const retrievedAt = retrievalTimeOf(object);
      if (retrievedAt === undefined || !inRange(range, retrievedAt)) return { kind: 'out' };
      const where = { bucket: source.bucket, keyPrefix };
      // A dry run decides from the metadata alone; the header section only shapes the body it does not send.
      const header = dryRun
        ? { headerBytes: Buffer.alloc(0), truncated: false }
        : await source.headerSection(object);
      const rebuilt = rebuildInput(object, header, where, settings);
      const body = rebuilt.kind === 'input' && !dryRun ? buildNotification(rebuilt.input).body : undefined;
      return { kind: 'in', rebuilt, body };
    } catch (error) {
      return { kind: 'error', error };
    }
  }

  async #decide({ key, examined }: Pending): Promise<void> {
    const outcome = await examined;
    if (outcome.kind === 'error') return this.#fail(key, outcome.error);
    const rebuilt = outcome.kind === 'in' ? outcome.rebuilt : undefined;
    const sendable = rebuilt?.kind === 'input' && (rebuilt.missing.length === 0 || this.#request.approximate);
    const { max } = this.#request;
    if (sendable && max !== undefined && this.#claimed >= max) {
      this.#end = 'max'; // not done: the resume point stays before this key
      return;
    }
    this.#counts.examined++;
    if (rebuilt === undefined) return this.#done(key);
    this.#counts.inRange++;
    if (rebuilt.kind === 'unusable') {
      this.#counts.unusable++;
      this.#request.onEvent?.({ kind: 'unusable', key, reason: rebuilt.problem });
      return this.#done(key);
    }
    const { missing } = rebuilt;
    if (missing.length > 0) this.#request.onEvent?.({ kind: 'inexact', key, missing, sent: sendable });
    if (!sendable) {
      this.#counts.skippedInexact++;
      return this.#done(key);
    }
    this.#claimed++;
    const body = outcome.kind === 'in' ? outcome.body : undefined;
    if (body === undefined) {
      this.#counts.sent++; // a dry run: counted, not sent
      return this.#done(key);
    }
    const entryId = `r${this.#batch.length}`;
    this.#batch.push({ entryId, body, mailboxId: rebuilt.input.mailboxId, deduplicationKey: key });
    if (this.#batch.length >= (this.#request.notifier?.maxBatchSize ?? 1)) await this.#flush();
  }

  #done(key: string): void {
    this.#cursor.finish(key);
    this.#request.onEvent?.({ kind: 'progress', counts: { ...this.#counts } });
  }

  #fail(key: string, error: unknown): void {
    this.#failure ??= { key, error };
    this.#end = 'failed';
  }

  async #flush(): Promise<void> {
    const batch = this.#batch.splice(0);
    if (batch.length === 0) return;
    let results: Awaited<ReturnType<Notifier['send']>>;
    try {
      const { notifier, pacer } = this.#request;
      if (notifier === undefined) throw new Error('no notifier to send to');
      await pacer.turn();
      results = await notifier.send(batch);
    } catch (error) {
      return this.#fail(batch[0]!.deduplicationKey, error);
    }
    const byEntry = new Map(results.map((result) => [result.entryId, result]));
    for (const { entryId, deduplicationKey: key } of batch) {
      const result = byEntry.get(entryId);
      if (result?.ok) {
        this.#counts.sent++;
        this.#done(key);
      } else {
        const why = result === undefined ? 'the notifier gave no result for it' : result.reason;
        this.#fail(key, new Error(`the notification of ${key} was not accepted: ${why}`));
      }
    }
  }
}
