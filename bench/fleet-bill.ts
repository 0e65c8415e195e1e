/**
 * The monthly bill of a MailboxIngestion with its defaults, line by line, for 10 to 10,000 mailboxes
 * polled every 5 minutes: the table of docs/deploy.md, "Scale and cost" (test/unit/bench/fleet-bill.test.ts
 * keeps the two equal). Every input is a named constant below, measured (BENCHMARKS.md, the fleet
 * scenario) or an assumption said as such; every price is PRICES of fleet-cost.ts.
 *
 *   npx tsx bench/fleet-bill.ts      prints the table
 */
import { pathToFileURL } from 'node:url';
import { customMetricsUsd, lambdaInvocationSeconds, MONTH_DAYS, PRICES } from './fleet-cost.ts';
import { table } from './markdown.ts';

export const FLEET_SIZES = [10, 100, 1_000, 10_000] as const;

export const FLEET_INPUTS = {
  periodSeconds: 300,
  /** The construct's defaults: pollMemorySize, pollBatchSize, maxConcurrency, dispatchMemorySize. */
  pollMemoryGb: 0.5,
  batchSize: 10,
  maxConcurrency: 10,
  dispatchMemoryGb: 0.25,
  /** BENCHMARKS.md section 7 (2026-12-07): median connect-to-QUIT of an empty mailbox at 50 ms RTT. */
  emptyPollMs: 269,
  /**
   * BENCHMARKS.md section 7 (2026-12-07), batch size 10: 15 ms of CPU per polled mailbox, measured on a
   * quiet machine. This machine has run up to 1.7× slower in other hours (bench/notes.md), so the bill
   * takes 15 × 1.7, rounded up: a Lambda share of a core is not faster than a busy core here.
   */
  cpuMsPerMailbox: 26,
  /**
   * Fleet scenario (bench/children/fleet-worker.ts), 500 mailboxes, 2026-12-07: the handler's log output
   * per mailbox run, 2,011 bytes in 4 lines for an empty one ("poll started", "poll finished", the
   * outcome metrics and the MailboxHealth metric as EMF documents); rounded up.
   */
  logBytesPerRun: 2_020,
  logLinesPerRun: 4,
  /** The runtime's START, END and REPORT lines of one invocation (REPORT alone is about 250 bytes). */
  runtimeLogBytesPerInvocation: 350,
  runtimeLogLinesPerInvocation: 3,
  /** Assumed, not measured: a dispatch takes 0.5 s plus 0.25 ms per mailbox (a SendMessageBatch per 10). */
  dispatchSecondsBase: 0.5,
  dispatchSecondsPerMailbox: 0.000_25,
  /** Assumed: the event source's idle long polls, 5 pollers each waiting 20 s per ReceiveMessage. */
  idleReceivesPerMonth: 5 * 3 * 60 * 24 * MONTH_DAYS,
  /** Assumed upper bound: a mailbox's health record changes (one PUT) once a day. */
  healthPutsPerMailboxPerDay: 1,
  /**
   * Custom metrics at the [Service] level only (perMailboxMetrics false): 8 outcome metrics, 3 of keep
   * mode, PollFailures (1, and 1 per reason met; 10 assumed), DroppedJobs (1 + 2 reasons), MailboxHealth
   * (4 states).
   */
  fixedMetrics: 8 + 3 + 1 + 10 + 3 + 4,
  /** Per-mailbox metrics, when turned on: the outcome metrics per MailboxId. */
  metricsPerMailbox: 7,
  /** The construct's alarms with a new notification queue, and its Contributor Insights rules. */
  alarms: 10,
  insightRules: 1,
  /** One shared secret for the password mailboxes. */
  secrets: 1,
} as const;

export interface BillLine {
  readonly item: string;
  readonly basis: string;
  readonly usd: (mailboxes: number) => number;
}

export type FleetInputs = { readonly [K in keyof typeof FLEET_INPUTS]: number };

const cyclesPerMonth = (I: FleetInputs) => (MONTH_DAYS * 86_400) / I.periodSeconds;
const invocationsPerCycle = (I: FleetInputs, m: number) => Math.ceil(m / I.batchSize);
/** One poll invocation on Lambda: its slowest poll's round trips, or its CPU at 0.29 vCPU if longer. */
const invocationSeconds = (I: FleetInputs, m: number) =>
  lambdaInvocationSeconds(I.emptyPollMs, Math.min(m, I.batchSize), I.cpuMsPerMailbox, I.pollMemoryGb);
/** Containers kept warm: the event source runs up to maxConcurrency invocations at once. */
const warmContainers = (I: FleetInputs, m: number) => Math.min(I.maxConcurrency, invocationsPerCycle(I, m));
const gb = (bytes: number) => bytes / 1024 ** 3;

/** Seconds of one cycle's poll work spread over the warm containers: it must stay under the period. */
export const cycleSeconds = (m: number, I: FleetInputs = FLEET_INPUTS) =>
  (invocationsPerCycle(I, m) * invocationSeconds(I, m)) / warmContainers(I, m);

/** The bill's lines for these inputs (FLEET_INPUTS: the table of docs/deploy.md). */
export function billLines(I: FleetInputs = FLEET_INPUTS): readonly BillLine[] {
  const cycles = cyclesPerMonth(I);
  const runs = (m: number) => m * cycles;
  const invocations = (m: number) => invocationsPerCycle(I, m) * cycles;
  const logEvents = (m: number) =>
    runs(m) * I.logLinesPerRun + invocations(m) * I.runtimeLogLinesPerInvocation;
  return [
    {
      item: 'Lambda GB-s (poll + dispatch)',
      basis: `${I.batchSize} mailboxes an invocation, max(${I.emptyPollMs.toFixed(0)} ms, ${I.batchSize} × ${I.cpuMsPerMailbox.toFixed(0)} ms CPU ÷ 0.29 vCPU) at 512 MB; dispatch ${I.dispatchSecondsBase} s + ${I.dispatchSecondsPerMailbox * 1000} ms a mailbox at 256 MB`,
      usd: (m) =>
        (invocations(m) * invocationSeconds(I, m) * I.pollMemoryGb +
          cycles * (I.dispatchSecondsBase + I.dispatchSecondsPerMailbox * m) * I.dispatchMemoryGb) *
        PRICES.lambdaArmPerGbSecond,
    },
    {
      item: 'Lambda requests',
      basis: 'poll invocations + one dispatch a cycle',
      usd: (m) => ((invocations(m) + cycles) / 1e6) * PRICES.lambdaPerMillionRequests,
    },
    {
      item: 'SQS job queue (FIFO)',
      basis: `SendMessageBatch per 10 jobs; ReceiveMessage and DeleteMessageBatch per invocation; ${(I.idleReceivesPerMonth / 1e3).toFixed(0)}k idle long polls`,
      usd: (m) =>
        ((Math.ceil(m / 10) * cycles + 2 * invocations(m) + I.idleReceivesPerMonth) / 1e6) *
        PRICES.sqsFifoPerMillion,
    },
    {
      item: 'S3 health GET',
      basis: 'one per mailbox run',
      usd: (m) => (runs(m) / 1000) * PRICES.s3GetPer1000,
    },
    {
      item: 'S3 health PUT',
      basis: `on change; at most ${I.healthPutsPerMailboxPerDay} a mailbox a day assumed`,
      usd: (m) => ((m * I.healthPutsPerMailboxPerDay * MONTH_DAYS) / 1000) * PRICES.s3PutPer1000,
    },
    {
      item: 'Secrets Manager secret',
      basis: `${I.secrets} shared secret for the password mailboxes`,
      usd: () => I.secrets * PRICES.secretPerMonth,
    },
    {
      item: 'Secrets Manager GetSecretValue',
      basis: `one per secret per warm container (≤ maxConcurrency ${I.maxConcurrency}) per 5 minutes`,
      usd: (m) => ((I.secrets * warmContainers(I, m) * cycles) / 10_000) * PRICES.secretsPer10000Calls,
    },
    {
      item: 'CloudWatch custom metrics',
      basis: `${I.fixedMetrics} at the Service level, none per mailbox`,
      usd: () => customMetricsUsd(I.fixedMetrics),
    },
    {
      item: 'CloudWatch alarms',
      basis: `${I.alarms} standard-resolution alarms`,
      usd: () => I.alarms * PRICES.alarmPerMonth,
    },
    {
      item: 'CloudWatch Logs ingestion',
      basis: `${Math.round(I.logBytesPerRun).toLocaleString('en-US')} bytes a mailbox run (measured) + ${I.runtimeLogBytesPerInvocation} an invocation (START/END/REPORT)`,
      usd: (m) =>
        gb(runs(m) * I.logBytesPerRun + invocations(m) * I.runtimeLogBytesPerInvocation) *
        PRICES.logsIngestionPerGb,
    },
    {
      item: 'Contributor Insights',
      basis: `${I.insightRules} rule + matched log events (bounded here by every event of the poll log group)`,
      usd: (m) =>
        I.insightRules * PRICES.insightRulePerMonth + (logEvents(m) / 1e6) * PRICES.insightEventsPerMillion,
    },
    {
      item: 'EventBridge Scheduler',
      basis: `${cycles.toLocaleString('en-US')} invocations, within the 14 million free`,
      usd: () => 0,
    },
  ];
}

/** Options that are off by default, priced on their own. */
export function optionLines(I: FleetInputs = FLEET_INPUTS): readonly BillLine[] {
  return [
    {
      item: '`perMailboxMetrics: true`',
      basis: `${I.metricsPerMailbox} custom metrics per mailbox`,
      usd: (m) =>
        customMetricsUsd(I.fixedMetrics + I.metricsPerMailbox * m) - customMetricsUsd(I.fixedMetrics),
    },
    {
      item: '`dashboard: true`',
      basis: "one dashboard (an account's first 3 are free)",
      usd: () => PRICES.dashboardPerMonth,
    },
  ];
}

export const totalUsd = (m: number, I: FleetInputs = FLEET_INPUTS): number =>
  billLines(I).reduce((sum, line) => sum + line.usd(m), 0);

export function usd(value: number): string {
  if (value === 0) return '$0';
  if (value < 0.01) return '< $0.01';
  if (value < 100) return `$${value.toFixed(2)}`;
  return `$${Math.round(value).toLocaleString('en-US')}`;
}

/** The markdown table of docs/deploy.md: one column per fleet size. */
export function billTable(I: FleetInputs = FLEET_INPUTS): string {
  const row = (line: BillLine) => [line.item, ...FLEET_SIZES.map((m) => usd(line.usd(m))), line.basis];
  return table(
    ['per month', ...FLEET_SIZES.map((m) => `${m.toLocaleString('en-US')} mailboxes`), 'basis'],
    [
      ...billLines(I).map(row),
      ['**total, defaults**', ...FLEET_SIZES.map((m) => `**${usd(totalUsd(m, I))}**`), ''],
      ...optionLines(I).map(row),
    ],
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(billTable());
}
