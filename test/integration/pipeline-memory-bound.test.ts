/**
 * A hostile server cannot make a run hold unbounded memory. Each run is measured in a child process (its
 * own RSS, nothing else in it; test/support/poll-rss-probe.ts) against a server that holds nothing either
 * (test/support/lying-pop3-server.ts). The bounds are the documented ones (lib/pipeline/in-flight-budget.ts,
 * lib/pop3/limits.ts); the runtime allowance is generous on purpose: this checks a bound, not a speed.
 *
 * Measured on the development machine: lying LIST sizes peaked at 16.0 MiB held by the store and ~74 MiB
 * RSS growth (before octets were charged as they arrive: 240 MiB held, ~197 MiB RSS); the 600,000-entry
 * UIDL listing at ~34 MiB RSS growth (before it was read line by line: ~327 MiB).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { type LyingMailbox, type LyingServer, startLyingServer } from '../support/lying-pop3-server.ts';
import { testMailbox } from '../support/mailbox.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import type { ProbeInput, ProbeResult } from '../support/poll-rss-probe.ts';

const MiB = 1024 * 1024;
/** Garbage not yet collected, V8 heap growth, socket and stream buffers: what a run costs besides data. */
const RUNTIME_ALLOWANCE_BYTES = 96 * MiB;
const PROBE = fileURLToPath(new URL('../support/poll-rss-probe.ts', import.meta.url));

const servers: LyingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function measure(mailbox: LyingMailbox, input: Omit<ProbeInput, 'port'>): Promise<ProbeResult> {
  const server = await startLyingServer(mailbox);
  servers.push(server);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', PROBE, JSON.stringify({ ...input, port: server.port })],
    { maxBuffer: MiB },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}

describe('memory stays bounded whatever the server claims', () => {
  it('64 messages of 6 MiB listed as 1 octet each: held octets stay within the in-flight budget', async () => {
    const messageBytes = 6 * MiB;
    const maxInFlightBytes = 16 * MiB;
    const result = await measure(
      { count: 64, listedSize: () => 1, bodySize: () => messageBytes },
      { maxMessagesPerRun: 10_000, holdMs: 100, maxInFlightBytes },
    );
    expect(result).toMatchObject({ status: 'ok', stored: 64, deleted: 64 });
    // Octets charged before they pass on: only the oldest message may go past the budget, by itself.
    const headers = 64 * 1024;
    expect(result.peakHeldBytes).toBeLessThanOrEqual(maxInFlightBytes + messageBytes + headers);
    expect(result.peakGrowthBytes).toBeLessThan(maxInFlightBytes + messageBytes + RUNTIME_ALLOWANCE_BYTES);
  });

  it('a 600,000-message mailbox (a ~40 MiB UIDL listing) costs the entries kept, not the listing', async () => {
    const maxMessagesPerRun = 50;
    const result = await measure(
      { count: 600_000, listedSize: () => 100, bodySize: () => 100 },
      { maxMessagesPerRun, holdMs: 0 },
    );
    expect(result).toMatchObject({ status: 'ok', stored: maxMessagesPerRun, deleted: maxMessagesPerRun });
    expect(result.found).toBe(600_000); // counted, though only maxListingEntriesFor(50) entries were kept
    expect(result.peakGrowthBytes).toBeLessThan(RUNTIME_ALLOWANCE_BYTES);
  });

  it('messages each larger than the whole budget still flow, one after another, to a streaming store', async () => {
    const messageBytes = 2 * MiB;
    const server = await startLyingServer({ count: 8, listedSize: () => 1, bodySize: () => messageBytes });
    servers.push(server);
    const local = localPorts();
    try {
      const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(60_000), {
        maxInFlightBytes: 256 * 1024,
      });
      expect(outcome).toMatchObject({ status: 'ok', counts: { stored: 8, deleted: 8 } });
      const sizes = [...local.objects().values()].map((body) => body.length);
      expect(sizes).toHaveLength(8);
      for (const size of sizes) expect(size).toBeGreaterThan(messageBytes);
      expect(server.deleted.size).toBe(8);
    } finally {
      local.remove();
    }
  });
});
