/**
 * Keep mode must see the whole listing, so it cannot drop entries past a cap the way a drain run does: its
 * listing is bounded in entries and in octets (lib/pop3/limits.ts), and past either bound the run fails
 * with `listing-too-long` (status `failed`: a person must act) while the listing is read, before memory
 * is at risk. Unique-ids outside RFC 1939 enter the state hashed, so a state at the bound still saves
 * and loads; a state larger than any keep mode writes (an older version's) is refused unexpanded.
 *
 * Each run is measured in a child process (test/support/keep-rss-probe.ts: its own RSS, nothing else in
 * it) against the lying server, which generates listings without holding them. Before these bounds,
 * 100,000 unique-ids of 1,000 octets took 575 MiB, and a million entries of 16 characters ran out of a
 * 448 MB heap. Measured here (peak RSS growth, 448 MB heap): 112 MiB at 100,000 RFC-maximum unique-ids,
 * 174 MiB at 200,000 of 16 characters (131 MiB within a 128 MB heap), 69 MiB at 16,000 of 1,000 octets;
 * a refused listing 30-67 MiB.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { stateKeyFor } from '../../lib/adapters/local-state-store.ts';
import { decodeState, MAX_STATE_TEXT_OCTETS, STATE_FORMAT } from '../../lib/adapters/mailbox-state-codec.ts';
import { KEEP_MODE_MAX_LISTING_ENTRIES, KEEP_MODE_MAX_LISTING_OCTETS } from '../../lib/pop3/limits.ts';
import type { KeepProbeResult } from '../support/keep-rss-probe.ts';
import { type LyingServer, startLyingServer } from '../support/lying-pop3-server.ts';

const MiB = 1024 * 1024;
/** What a keep-mode run at the bounds may cost: the measured peak (174 MiB) with room for a slower GC. */
const AT_THE_BOUND_BYTES = 256 * MiB;
/** A refused listing costs what was read of it: at most the octet cap, and the runtime. */
const REFUSED_BYTES = KEEP_MODE_MAX_LISTING_OCTETS + 96 * MiB;
const PROBE = fileURLToPath(new URL('../support/keep-rss-probe.ts', import.meta.url));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server listing `count` messages of 100 octets with unique-ids of `uidlLength` characters. */
async function lyingServer(count: number, uidlLength: number): Promise<LyingServer> {
  const server = await startLyingServer({
    count,
    listedSize: () => 100,
    bodySize: () => 100,
    uidl: (msg) => String(msg).padStart(uidlLength, 'u'),
  });
  cleanups.push(() => server.close());
  return server;
}

function stateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keep-bounds-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One keep-mode run (`initial: "none"`) in a child process, by default with a 448 MB heap like a 512 MB Lambda's. */
async function run(server: LyingServer, dir: string, heapMb = 448): Promise<KeepProbeResult> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      '--expose-gc',
      `--max-old-space-size=${heapMb}`,
      '--import',
      'tsx',
      PROBE,
      JSON.stringify({ port: server.port, stateDir: dir }),
    ],
    { maxBuffer: MiB },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as KeepProbeResult;
}

describe('keep mode: a listing too long fails clearly, before memory is at risk', () => {
  it('unique-ids of 1,000 octets past the octet cap: listing-too-long, nothing saved', async () => {
    const count = 20_000; // 20 MB of UIDL listing: under the entry cap, over the octet cap
    expect(count).toBeLessThan(KEEP_MODE_MAX_LISTING_ENTRIES);
    const dir = stateDir();
    const result = await run(await lyingServer(count, 1000), dir);
    expect(result).toMatchObject({ status: 'failed', reason: 'listing-too-long', recordedByInitial: 0 });
    expect(result.message).toMatch(`more than ${KEEP_MODE_MAX_LISTING_OCTETS} octets`);
    expect(result.message).toMatch(/delete old messages on the server or use deleteAfterDays/);
    expect(result.peakGrowthBytes).toBeLessThan(REFUSED_BYTES);
    expect(fs.existsSync(path.join(dir, stateKeyFor('', 'kept')))).toBe(false);
  });
});

describe('keep mode: a state at the bounds saves and loads', () => {
  it('16,000 unique-ids of 1,000 octets (just under the octet cap) are kept under hashed ids', async () => {
    const count = 16_000;
    expect(count * (String(count).length + 1 + 1000 + 2)).toBeLessThan(KEEP_MODE_MAX_LISTING_OCTETS);
    const server = await lyingServer(count, 1000);
    const dir = stateDir();
    const first = await run(server, dir);
    expect(first).toMatchObject({ status: 'ok', found: count, recordedByInitial: count });
    const bytes = fs.readFileSync(path.join(dir, stateKeyFor('', 'kept')));
    const { state } = decodeState('kept', bytes);
    expect(state.messages).toHaveLength(count);
    for (const { uidl } of state.messages) expect(uidl).toMatch(/^sha256:[0-9a-f]{64}$/);
    const second = await run(server, dir);
    expect(second).toMatchObject({ status: 'ok', found: count, kept: count, recordedByInitial: 0 });
    expect(Math.max(first.peakGrowthBytes, second.peakGrowthBytes)).toBeLessThan(AT_THE_BOUND_BYTES);
  });

  it(`${KEEP_MODE_MAX_LISTING_ENTRIES} messages (the entry cap) with Dovecot-length unique-ids; one more is too many`, async () => {
    const server = await lyingServer(KEEP_MODE_MAX_LISTING_ENTRIES, 16);
    const dir = stateDir();
    const first = await run(server, dir);
    expect(first).toMatchObject({ status: 'ok', recordedByInitial: KEEP_MODE_MAX_LISTING_ENTRIES });
    const second = await run(server, dir);
    expect(second).toMatchObject({ status: 'ok', kept: KEEP_MODE_MAX_LISTING_ENTRIES });
    expect(Math.max(first.peakGrowthBytes, second.peakGrowthBytes)).toBeLessThan(AT_THE_BOUND_BYTES);

    const past = await run(await lyingServer(KEEP_MODE_MAX_LISTING_ENTRIES + 1, 16), stateDir());
    expect(past).toMatchObject({ status: 'failed', reason: 'listing-too-long', recordedByInitial: 0 });
    expect(past.message).toMatch(`more than ${KEEP_MODE_MAX_LISTING_ENTRIES} messages`);
    expect(past.peakGrowthBytes).toBeLessThan(REFUSED_BYTES);
  });
});

describe('keep mode: the live memory of a run', () => {
  it('100,000 RFC-maximum unique-ids are listed, loaded and saved within a 96 MB heap', async () => {
    // The state used to be decoded and encoded as one string plus an array of its lines: out of memory here.
    const count = 100_000;
    const server = await lyingServer(count, 70);
    const dir = stateDir();
    expect(await run(server, dir, 96)).toMatchObject({ status: 'ok', recordedByInitial: count });
    expect(await run(server, dir, 96)).toMatchObject({ status: 'ok', kept: count });
  });
});

describe('keep mode: a state larger than keep mode writes', () => {
  it('is refused before it is expanded: listing-too-long, with what to do', async () => {
    const server = await lyingServer(3, 16);
    const dir = stateDir();
    const line = `["${'a'.repeat(70)}",1,1,"${'0'.repeat(64)}"]\n`;
    const header = JSON.stringify({ format: STATE_FORMAT, version: 1, mailboxId: 'kept', counter: 1 });
    const text = `${header}\n${line.repeat(Math.ceil(MAX_STATE_TEXT_OCTETS / line.length) + 1)}`;
    const file = path.join(dir, stateKeyFor('', 'kept'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, gzipSync(text, { level: 1 }));
    const result = await run(server, dir);
    expect(result).toMatchObject({ status: 'failed', reason: 'listing-too-long' });
    expect(result.message).toMatch(/expands to more than \d+ octets.*delete the state object/);
    expect(result.peakGrowthBytes).toBeLessThan(REFUSED_BYTES);
  });
});
