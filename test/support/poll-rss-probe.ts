/**
 * Runs one pollMailbox against a server and reports the peak growth of this process's RSS, as one JSON
 * line on stdout. Run in a child process (`tsx test/support/poll-rss-probe.ts '<json>'`) so the number is
 * the client's alone: no test runner, no server, no other test in the same heap.
 *
 * The store models S3 below its multipart threshold behind one slow uplink: it holds each whole body in
 * memory until its put resolves, and puts finish one after another, `holdMs` apart (the uploads). That is
 * where octets in flight live, and it lets a fast server get far ahead of the store.
 */
import { createHash } from 'node:crypto';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore, Notifier } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';
import { testMailbox } from './mailbox.ts';

export interface ProbeInput {
  readonly port: number;
  readonly maxMessagesPerRun: number;
  readonly holdMs: number;
  readonly maxInFlightBytes?: number;
}

export interface ProbeResult {
  readonly peakGrowthBytes: number;
  /** Most octets the store held at once (bodies received and not yet stored). */
  readonly peakHeldBytes: number;
  readonly status: string;
  readonly stored: number;
  readonly deleted: number;
  readonly found: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as ProbeInput;

let uplink: Promise<unknown> = Promise.resolve();
let held = 0;
let peakHeld = 0;
const bufferingStore: MessageStore = {
  async put(message) {
    const chunks: Buffer[] = [];
    const hash = createHash('sha256');
    for await (const chunk of message.body) {
      chunks.push(chunk as Buffer);
      hash.update(chunk as Buffer);
      held += (chunk as Buffer).length;
      peakHeld = Math.max(peakHeld, held);
    }
    const size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    const uploaded = uplink.then(() => new Promise((resolve) => setTimeout(resolve, input.holdMs)));
    uplink = uploaded;
    await uploaded;
    held -= size;
    const sha256 = hash.digest('hex');
    return { key: `${message.uidl}/${sha256}`, location: 'memory', sha256, size, created: true };
  },
};

const acceptingNotifier: Notifier = {
  maxBatchSize: 10,
  send: async (batch) => batch.map((entry) => ({ entryId: entry.entryId, ok: true as const })),
};

(globalThis as { gc?: () => void }).gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);

const outcome = await pollMailbox(
  testMailbox({ port: input.port, limits: { maxMessagesPerRun: input.maxMessagesPerRun } }),
  {
    store: bufferingStore,
    notifier: acceptingNotifier,
    credentials: new ConfigCredentialsProvider({ env: {} }),
    clock: systemClock,
  },
  Deadline.after(120_000),
  input.maxInFlightBytes === undefined ? {} : { maxInFlightBytes: input.maxInFlightBytes },
);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

const result: ProbeResult = {
  peakGrowthBytes: peak - baseline,
  peakHeldBytes: peakHeld,
  status: outcome.status,
  stored: outcome.counts.stored,
  deleted: outcome.counts.deleted,
  found: outcome.counts.found,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
