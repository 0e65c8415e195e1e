/**
 * Runs one keep-mode pollMailbox against a server and reports the peak growth of this process's RSS and
 * the outcome, as one JSON line on stdout. Run in a child process (`node --expose-gc --import tsx
 * test/support/keep-rss-probe.ts '<json>'`) so the number is the run's alone, as poll-rss-probe.ts does
 * for drain mode. The state lives in a LocalStateStore folder the caller keeps between probes: the first
 * run (`initial: "none"`) records every listed UIDL without retrieving anything, the next loads that
 * state, finds every message kept, and saves it again, so both ends of the state's life are measured.
 */
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { LocalStateStore } from '../../lib/adapters/local-state-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore, Notifier } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';
import { testMailbox } from './mailbox.ts';

export interface KeepProbeInput {
  readonly port: number;
  readonly stateDir: string;
}

export interface KeepProbeResult {
  readonly peakGrowthBytes: number;
  readonly status: string;
  readonly reason: string | undefined;
  readonly message: string | undefined;
  readonly found: number;
  readonly kept: number;
  readonly recordedByInitial: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as KeepProbeInput;

const refusingStore: MessageStore = {
  put: () => Promise.reject(new Error('this probe retrieves nothing')),
};
const refusingNotifier: Notifier = {
  maxBatchSize: 10,
  send: () => Promise.reject(new Error('this probe notifies nothing')),
};

(globalThis as { gc?: () => void }).gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 5);

const outcome = await pollMailbox(
  testMailbox({ id: 'kept', port: input.port, keep: { deleteAfterDays: undefined, initial: 'none' } }),
  {
    store: refusingStore,
    notifier: refusingNotifier,
    credentials: new ConfigCredentialsProvider({ env: {} }),
    clock: systemClock,
    stateStore: new LocalStateStore({ outDir: input.stateDir }),
  },
  Deadline.after(240_000),
);
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

const result: KeepProbeResult = {
  peakGrowthBytes: peak - baseline,
  status: outcome.status,
  reason: outcome.reason,
  message: outcome.message,
  found: outcome.counts.found,
  kept: outcome.keep?.kept ?? 0,
  recordedByInitial: outcome.keep?.recordedByInitial ?? 0,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
