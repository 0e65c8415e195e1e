/**
 * `npm run bench -- --scenario keep-state`: the state of a keep-mode mailbox that keeps 100,000 messages.
 * What it costs per run (the issue's bound: load + save ≤ 1 s, object ≤ 5 MB) and whether a listing of
 * that size fits the client's listing limits in keep mode.
 *
 * Measured in-process: the S3 state store against fauxqs on loopback (so S3's network time is not in it:
 * on S3 add the transfer of the object, a few MB, and two request round trips), and the UIDL listing
 * read by the same ListingReader the client uses, with keep mode's cap. Two UIDL shapes: Dovecot's default
 * (16 hex digits) and the RFC 1939 maximum (70 characters, random: gzip cannot shrink them).
 */
import { randomBytes } from 'node:crypto';
import { encodeState } from '../../lib/adapters/mailbox-state-codec.ts';
import { S3StateStore } from '../../lib/adapters/s3-state-store.ts';
import { KEEP_MODE_MAX_LISTING_ENTRIES } from '../../lib/pop3/limits.ts';
import { uidlListingReader } from '../../lib/pop3/parsers.ts';
import type { KeptMessage, MailboxState } from '../../lib/ports.ts';
import { startFauxqs } from '../../test/support/fauxqs.ts';
import { loadAverage } from '../machine.ts';
import { table } from '../markdown.ts';
import { median } from '../stats.ts';

export const KEPT_MESSAGES = 100_000;
const REPETITIONS = 5;
export const KEEP_STATE_HEADING = '## 9. Keep-mode state: 100,000 kept messages';

interface ShapeResult {
  readonly shape: string;
  readonly objectBytes: number;
  /** The same state without the SHA-256 digests: what the digests add to the object. */
  readonly objectBytesWithoutDigests: number;
  readonly saveMs: number;
  readonly loadMs: number;
  readonly updateMs: number;
  readonly listingMs: number;
}

export interface KeepStateResults {
  readonly measuredAt: string;
  readonly load: readonly number[];
  readonly shapes: readonly ShapeResult[];
}

const SHAPES = [
  { name: 'Dovecot default (16 hex)', uidl: (i: number) => `${i.toString(16).padStart(8, '0')}5f3a9c21` },
  { name: 'RFC maximum length (70 random hex)', uidl: () => randomBytes(35).toString('hex') },
];

export async function measureKeepState(log: (line: string) => void): Promise<KeepStateResults> {
  const aws = await startFauxqs();
  try {
    await aws.createBucket('keep-state');
    const store = new S3StateStore({ client: aws.s3, bucket: 'keep-state' });
    const shapes: ShapeResult[] = [];
    for (const shape of SHAPES) {
      const now = Date.now();
      const messages: KeptMessage[] = Array.from({ length: KEPT_MESSAGES }, (_, i) => ({
        uidl: shape.uidl(i),
        size: 2_000 + ((i * 7919) % 200_000),
        ingestedAt: now - (i % 1000) * 60_000,
        // The stored message's digest, which every ingested entry carries (random: it does not compress).
        sha256: randomBytes(32).toString('hex'),
      }));
      const state: MailboxState = { messages };
      const saves: number[] = [];
      const loads: number[] = [];
      const updates: number[] = [];
      for (let rep = 0; rep < REPETITIONS; rep++) {
        const id = `m${shapes.length}-${rep}`;
        saves.push(await timed(() => store.save(id, state, undefined)));
        let version = '';
        loads.push(
          await timed(async () => {
            version = (await store.load(id))!.version;
          }),
        );
        updates.push(await timed(() => store.save(id, state, version)));
      }
      const listing = Buffer.from(messages.map((m, i) => `${i + 1} ${m.uidl}\r\n`).join(''), 'latin1');
      const listings: number[] = [];
      for (let rep = 0; rep < REPETITIONS; rep++) {
        listings.push(
          await timed(async () => {
            const reader = uidlListingReader(KEEP_MODE_MAX_LISTING_ENTRIES);
            // In chunks as a socket delivers them.
            for (let at = 0; at < listing.length; at += 64 * 1024)
              reader.push(listing.subarray(at, at + 64 * 1024));
            const parsed = reader.end();
            if (parsed.length !== KEPT_MESSAGES || parsed.omitted !== 0) throw new Error('listing cut short');
          }),
        );
      }
      const listingMs = median(listings);
      const result = {
        shape: shape.name,
        objectBytes: encodeState('m', state, 1).length,
        objectBytesWithoutDigests: encodeState(
          'm',
          { messages: messages.map(({ sha256: _digest, ...entry }) => entry) },
          1,
        ).length,
        saveMs: median(saves),
        loadMs: median(loads),
        updateMs: median(updates),
        listingMs,
      };
      log(`  keep-state ${shape.name}: ${JSON.stringify(result)}`);
      shapes.push(result);
    }
    return { measuredAt: new Date().toISOString(), load: loadAverage(), shapes };
  } finally {
    await aws.stop();
  }
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export function renderKeepState(results: KeepStateResults): string {
  const rows = results.shapes.map((s) => [
    s.shape,
    `${(s.objectBytes / 1e6).toFixed(2)} MB`,
    `${(s.objectBytesWithoutDigests / 1e6).toFixed(2)} MB`,
    `${s.loadMs.toFixed(0)} ms`,
    `${s.updateMs.toFixed(0)} ms`,
    `${(s.loadMs + s.updateMs).toFixed(0)} ms`,
    `${s.saveMs.toFixed(0)} ms`,
    `${s.listingMs.toFixed(0)} ms`,
  ]);
  return [
    KEEP_STATE_HEADING,
    '',
    `\`npm run bench -- --scenario keep-state\`, ${results.measuredAt}, load average ` +
      `${results.load.map((l) => l.toFixed(2)).join(' ')} (2 cores shared with other work). Median of ${REPETITIONS}. ` +
      'S3 is fauxqs on loopback: on S3 add the transfer of the object and two round trips. The bound is ' +
      'load + save ≤ 1 s and ≤ 5 MB.',
    '',
    table(
      [
        'UIDLs',
        'object (gzip)',
        'without the digests',
        'load',
        'save (If-Match)',
        'load + save',
        'first save',
        'UIDL listing read',
      ],
      rows,
    ),
    '',
    `The listing is read by the client's ListingReader with keep mode's cap (${KEEP_MODE_MAX_LISTING_ENTRIES.toLocaleString('en-US')} ` +
      'entries and 16 MiB, lib/pop3/limits.ts), not the per-run cap of 2 × maxMessagesPerRun: keep mode must see ' +
      'every message to know which are new.',
    '',
    "Every entry carries the stored message's SHA-256 (64 hex digits, which keep mode's deleteAfterDays " +
      'checks before a DELE): random, so gzip cannot shrink it below 32 bytes; "without the digests" is the same ' +
      'state without them. The size also depends on the UIDLs: random hex carries 4 bits per character and is ' +
      'the worst case measured. UIDLs of 70 random characters from all 94 printable ones (no server known here ' +
      'does that) would not compress below ~5.7 MB for 100,000 messages, before the digests.',
    '',
  ].join('\n');
}

/** The keep-mode state section of a report, or undefined: a re-render keeps the one it finds. */
export function keepStateSectionOf(report: string): string | undefined {
  const start = report.indexOf(KEEP_STATE_HEADING);
  if (start === -1) return undefined;
  const end = report.indexOf('\n## ', start + KEEP_STATE_HEADING.length);
  return end === -1 ? report.slice(start) : report.slice(start, end + 1);
}

/** The report with this section in place of an earlier one, or before the CPU profile or the notes. */
export function withKeepStateSection(report: string, section: string): string {
  const start = report.indexOf(KEEP_STATE_HEADING);
  if (start !== -1) {
    const end = report.indexOf('\n## ', start + KEEP_STATE_HEADING.length);
    return report.slice(0, start) + section + (end === -1 ? '' : `\n${report.slice(end + 1)}`);
  }
  // Before the CPU profile, or before the notes when the run made no profile (a smoke run).
  const next = ['\n## Where the poller', '\n## Notes']
    .map((heading) => report.indexOf(heading))
    .find((at) => at !== -1);
  const at = next === undefined ? report.length : next + 1;
  return `${report.slice(0, at)}${section}\n${report.slice(at)}`;
}
