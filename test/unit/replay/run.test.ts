/**
 * The replay loop (lib/replay/replay.ts) over an in-memory source and a recording notifier: batches,
 * the range, a dry run, --max and a failed send each end at a resume point from which a second run
 * sends exactly the rest; objects without every input are skipped or sent rebuilt; reads finishing out
 * of order are still decided in key order.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { objectKeyFor } from '../../../lib/adapters/object-key.ts';
import { HeaderCollector } from '../../../lib/notification/index.ts';
import type { NotificationResult, Notifier, OutgoingNotification } from '../../../lib/ports.ts';
import { keptInputsMetadata } from '../../../lib/replay/metadata.ts';
import { RequestPacer } from '../../../lib/replay/pacer.ts';
import type { StoredObject } from '../../../lib/replay/rebuild.ts';
import { countCandidates, type ReplayRequest, replay } from '../../../lib/replay/replay.ts';
import type { ListedObject, ReplaySource } from '../../../lib/replay/source.ts';

interface Entry {
  readonly object: StoredObject;
  readonly bytes: Buffer;
}

/** Objects `m00`… retrieved a minute apart from 05:00; `old` ones keep only the store's own metadata. */
function bucketOf(count: number, old: ReadonlySet<number> = new Set()): Entry[] {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = Buffer.from(`Subject: message ${i}\r\nMessage-ID: <${i}@x>\r\n\r\nbody ${i}\r\n`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const uidl = `m${String(i).padStart(2, '0')}`;
    const key = objectKeyFor('', 'box', uidl, sha256);
    const retrievedAt = new Date(Date.UTC(2026, 11, 7, 5, i));
    const own = { 'mailbox-id': 'box', sha256, uidl };
    const kept = keptInputsMetadata(
      {
        retrievedAt,
        processingTimeMillis: i,
        host: 'h',
        username: 'u',
        trustedAuthservId: undefined,
        utf8: false,
      },
      own,
    );
    const metadata = old.has(i) ? own : { ...own, ...kept };
    entries.push({ object: { key, size: bytes.length, lastModified: retrievedAt, metadata }, bytes });
  }
  return entries.sort((a, b) => (a.object.key < b.object.key ? -1 : 1));
}

/** Pages of 3; reads that finish in a scrambled order. */
function sourceOf(entries: readonly Entry[]): ReplaySource {
  const byKey = new Map(entries.map((entry) => [entry.object.key, entry]));
  const delay = (key: string) =>
    new Promise((resolve) => setTimeout(resolve, key.charCodeAt(key.length - 6) % 5));
  return {
    bucket: 'mail',
    async *list(prefix, startAfter) {
      const keys = entries.map((entry) => entry.object.key).filter((key) => key.startsWith(prefix));
      const rest = keys.filter((key) => startAfter === undefined || key > startAfter);
      for (let i = 0; i < rest.length; i += 3) {
        yield rest
          .slice(i, i + 3)
          .map((key): ListedObject => ({ key, lastModified: byKey.get(key)!.object.lastModified }));
      }
    },
    async head(key) {
      await delay(key);
      return byKey.get(key)!.object;
    },
    async headerSection(object) {
      await delay(object.key);
      const collector = new HeaderCollector();
      const bytes = byKey.get(object.key)!.bytes;
      for (let i = 0; i < bytes.length; i += 7) collector.write(bytes.subarray(i, i + 7));
      return { headerBytes: collector.headerBytes(), truncated: collector.truncated };
    },
  };
}

class RecordingNotifier implements Notifier {
  readonly maxBatchSize = 4;
  readonly batches: OutgoingNotification[][] = [];
  refuse: (entry: OutgoingNotification) => boolean = () => false;

  async send(batch: readonly OutgoingNotification[]): Promise<NotificationResult[]> {
    const accepted = batch.filter((entry) => !this.refuse(entry));
    this.batches.push(accepted);
    return batch.map((entry) =>
      this.refuse(entry)
        ? { entryId: entry.entryId, ok: false, reason: 'refused' }
        : { entryId: entry.entryId, ok: true },
    );
  }

  get keys(): string[] {
    return this.batches.flat().map((entry) => entry.deduplicationKey);
  }
}

function request(
  source: ReplaySource,
  notifier: Notifier | undefined,
  extra: Partial<ReplayRequest> = {},
): ReplayRequest {
  return {
    source,
    notifier,
    keyPrefix: '',
    listPrefix: '',
    startAfter: undefined,
    range: {},
    dryRun: false,
    approximate: false,
    max: undefined,
    concurrency: 3,
    settings: undefined,
    pacer: new RequestPacer(1_000_000),
    stop: new AbortController().signal,
    ...extra,
  };
}

const keysOf = (entries: readonly Entry[]) => entries.map((entry) => entry.object.key);

describe('replay over an in-memory bucket', () => {
  it('sends every object once, in key order, in batches no larger than the notifier takes', async () => {
    const entries = bucketOf(10);
    const notifier = new RecordingNotifier();
    const result = await replay(request(sourceOf(entries), notifier));
    expect(result).toMatchObject({ end: 'done', counts: { examined: 10, inRange: 10, sent: 10 } });
    expect(notifier.keys).toEqual(keysOf(entries));
    expect(notifier.batches.map((batch) => batch.length)).toEqual([4, 4, 2]);
    expect(notifier.batches.flat().every((entry) => entry.mailboxId === 'box')).toBe(true);
    expect(result.resumeAfter).toBe(keysOf(entries).at(-1));
  });

  it('picks the range by retrieval time, and counts candidates for the total', async () => {
    const entries = bucketOf(10);
    const notifier = new RecordingNotifier();
    const range = {
      since: new Date(Date.UTC(2026, 11, 7, 5, 3)),
      until: new Date(Date.UTC(2026, 11, 7, 5, 6)),
    };
    const result = await replay(request(sourceOf(entries), notifier, { range }));
    expect(notifier.keys).toEqual(keysOf(entries.slice(3, 6)));
    expect(result.counts).toMatchObject({ examined: 10, inRange: 3, sent: 3 });
    expect(await countCandidates(request(sourceOf(entries), notifier, { range }))).toBe(10);
  });

  it('a dry run sends nothing, needs no notifier, and counts', async () => {
    const result = await replay(request(sourceOf(bucketOf(5)), undefined, { dryRun: true }));
    expect(result).toMatchObject({ end: 'done', counts: { sent: 5 } });
  });

  it('stops at --max exactly; the resume point gives exactly the rest', async () => {
    const entries = bucketOf(10);
    const notifier = new RecordingNotifier();
    const first = await replay(request(sourceOf(entries), notifier, { max: 5 }));
    expect(first).toMatchObject({ end: 'max', counts: { sent: 5 }, resumeAfter: keysOf(entries)[4] });
    const second = await replay(request(sourceOf(entries), notifier, { startAfter: first.resumeAfter }));
    expect(second.end).toBe('done');
    expect(notifier.keys).toEqual(keysOf(entries));
  });

  it('a refused notification fails the run before that key; going on from there sends the rest', async () => {
    const entries = bucketOf(10);
    const notifier = new RecordingNotifier();
    const bad = keysOf(entries)[5]!;
    notifier.refuse = (entry) => entry.deduplicationKey === bad;
    const first = await replay(request(sourceOf(entries), notifier));
    expect(first).toMatchObject({ end: 'failed', failure: { key: bad }, resumeAfter: keysOf(entries)[4] });
    notifier.refuse = () => false;
    await replay(request(sourceOf(entries), notifier, { startAfter: first.resumeAfter }));
    // The rest of the failed batch (index 6, 7) was accepted the first time: sent twice, same dedup key.
    expect(new Set(notifier.keys)).toEqual(new Set(keysOf(entries)));
  });

  it('skips objects that do not keep every input, or sends them rebuilt with --approximate', async () => {
    const entries = bucketOf(4, new Set([1]));
    const settings = new Map([['box', { host: 'h', username: 'u', trustedAuthservId: undefined }]]);
    const events: unknown[] = [];
    const notifier = new RecordingNotifier();
    const skipped = await replay(
      request(sourceOf(entries), notifier, { settings, onEvent: (e) => events.push(e) }),
    );
    expect(skipped.counts).toMatchObject({ sent: 3, skippedInexact: 1 });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'inexact', sent: false }));
    const approximate = await replay(
      request(sourceOf(entries), new RecordingNotifier(), { settings, approximate: true }),
    );
    expect(approximate.counts).toMatchObject({ sent: 4, skippedInexact: 0 });
    const unconfigured = await replay(
      request(sourceOf(entries), new RecordingNotifier(), { approximate: true }),
    );
    expect(unconfigured.counts).toMatchObject({ sent: 3, unusable: 1 });
  });

  it('an aborted stop takes nothing new and reports where to go on', async () => {
    const entries = bucketOf(10);
    const stop = new AbortController();
    const notifier = new RecordingNotifier();
    stop.abort();
    const result = await replay(request(sourceOf(entries), notifier, { stop: stop.signal }));
    expect(result).toMatchObject({ end: 'stopped', resumeAfter: undefined, counts: { examined: 0 } });
    expect(notifier.keys).toEqual([]);
  });

  it('a stop that comes after the last object was done ends it as done', async () => {
    const entries = bucketOf(10);
    const stop = new AbortController();
    const onEvent = (event: { kind: string; counts?: { examined: number } }) => {
      if (event.counts?.examined === 10) stop.abort();
    };
    const result = await replay(
      request(sourceOf(entries), new RecordingNotifier(), { stop: stop.signal, onEvent }),
    );
    expect(stop.signal.aborted).toBe(true);
    expect(result).toMatchObject({ end: 'done', resumeAfter: keysOf(entries).at(-1) });
  });

  it('a listing that fails stops the run before the objects still being read', async () => {
    const entries = bucketOf(10);
    const whole = sourceOf(entries);
    const failing: ReplaySource = {
      ...whole,
      async *list(prefix, startAfter) {
        for await (const page of whole.list(prefix, startAfter)) {
          yield page;
          throw new Error('listing refused');
        }
      },
    };
    const notifier = new RecordingNotifier();
    const result = await replay(request(failing, notifier));
    expect(result).toMatchObject({ end: 'failed', failure: { key: 'the listing after the start' } });
    expect(notifier.keys).toEqual(keysOf(entries).slice(0, 1));
    expect(result.resumeAfter).toBe(keysOf(entries)[0]);
    await replay(request(whole, notifier, { startAfter: result.resumeAfter }));
    expect(notifier.keys).toEqual(keysOf(entries));
  });
});
