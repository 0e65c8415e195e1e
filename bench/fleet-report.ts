/** BENCHMARKS.md sections 6 (the S3 path alone), 7 (the fleet) and 8 (the arithmetic for 10,000 mailboxes). */
import { billTable, FLEET_INPUTS, type FleetInputs } from './fleet-bill.ts';
import {
  fleetArithmetic,
  lambdaInvocationSeconds,
  PRICES,
  perHundredThousandMessages,
} from './fleet-cost.ts';
import { table } from './markdown.ts';
import type { BenchResults } from './results.ts';
import type { FleetResult } from './scenarios/fleet.ts';
import type { Summary } from './stats.ts';

export const S3_PATH_HEADING = '## 6. The S3 path alone: CPU per message';
export const FLEET_HEADING = '## 7. The fleet: dispatch → FIFO job queue → poll workers';
export const ARITHMETIC_HEADING = '## 8. 10,000 mailboxes every 5 minutes: concurrency and cost';

const pct = (fraction: number) => `${Math.round(fraction * 100)} %`;
const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
const usd = (value: number) =>
  `$${value < 1 ? value.toPrecision(2) : value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString('en-US')}`;
/** NaN (nothing to measure) comes back from the saved JSON as null. */
const ms = (value: number | null) =>
  value === null || Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(0);

export function s3PathSection(results: BenchResults): string[] {
  const r = results.s3Path;
  if (r === undefined) return [];
  const row = (name: string, cpu: Summary, rate: Summary) => [
    name,
    `${cpu.median.toFixed(2)} (${cpu.min.toFixed(2)} – ${cpu.max.toFixed(2)})`,
    rate.median.toFixed(0),
  ];
  const defaults = r.sdkDefaults;
  const saving =
    defaults === undefined
      ? []
      : [
          `As shipped, a message costs ${pct(1 - r.cpuMsPerMessage.median / defaults.cpuMsPerMessage.median)} less CPU than with the SDK's defaults (medians; the runs alternate, each on an emptied emulator).`,
          '',
        ];
  return [
    S3_PATH_HEADING,
    '',
    `${r.messages} × ${r.messageBytes / 1024} KiB through the shipped S3MessageStore and SqsNotifier (bench/children/s3-path.ts), ${r.inFlight} puts at a time, every request carrying a run's deadline signal, in a process of its own; the emulator runs in the harness. CPU is the child's process.cpuUsage over the puts and sends, after a warm-up. "SDK defaults": the same store and notifier on clients made with the SDK's defaults and only our HTTP timeouts, as before the request path was tuned: each request resolves its middleware stack again and the signer hashes each body a second time. Load average when it ran: ${load(r.load)}.`,
    '',
    table(
      ['Clients', 'CPU ms per message: median (min – max)', 'messages/s'],
      [
        row('as shipped (createS3Client, createSqsClient)', r.cpuMsPerMessage, r.messagesPerSecond),
        ...(defaults === undefined
          ? []
          : [row('SDK defaults', defaults.cpuMsPerMessage, defaults.messagesPerSecond)]),
      ],
    ),
    '',
    ...saving,
  ];
}

export function fleetSection(results: BenchResults): string[] {
  const fleet = results.fleet;
  if (fleet === undefined) return [];
  const { plan } = fleet;
  return [
    FLEET_HEADING,
    '',
    `${plan.mailboxes} mailboxes on one Dovecot (${Math.round(plan.manyShare * 100)} % with ${plan.manyMessages} messages, ${Math.round(plan.fewShare * 100)} % with ${plan.fewMessages}, the rest empty; ${plan.messageBytes / 1024} KiB each), POP3 over implicit TLS through the delaying proxy at ${plan.rttMs} ms RTT, ${plan.workers} poll workers. Each worker is a child process that imports the BUILT poll bundle once and drives it as the SQS event source mapping does (receive up to the batch size from the FIFO job queue, invoke with an SQSEvent, delete what batchItemFailures does not list): one process per unit of Lambda concurrency. The built dispatch bundle queues the jobs. Load average after the runs: **${load(fleet.load)}** on 2 cores shared with other work, so absolute times are inflated; Dovecot, the emulator and the workers share the cores.`,
    '',
    table(
      [
        'Batch size',
        'Wall s',
        'Invocations',
        'Mailboxes/s per worker',
        'Empty mailbox ms p50 / p99',
        'Non-empty ms p50 / p99',
        'Messages/s',
        'Invocation overhead ms (median)',
        'CPU ms per mailbox',
        'CPU ms per empty mailbox',
        'CPU ms per message',
        'Bundle import ms',
      ],
      fleet.runs.map((run) => [
        String(run.batchSize),
        run.wallSeconds.toFixed(1),
        String(run.invocations),
        run.mailboxesPerSecondPerWorker.toFixed(1),
        `${ms(run.emptyMs.p50)} / ${ms(run.emptyMs.p99)} (${run.emptyMs.count})`,
        `${ms(run.nonEmptyMs.p50)} / ${ms(run.nonEmptyMs.p99)} (${run.nonEmptyMs.count})`,
        run.messagesPerSecond.toFixed(0),
        ms(run.invocationOverheadMs),
        ms(run.cpuMsPerMailbox),
        ms(run.cpuMsPerEmptyMailbox),
        ms(run.cpuMsPerMessage),
        ms(run.initMs),
      ]),
    ),
    '',
    '"Empty/Non-empty ms": connect to QUIT of one mailbox as the poll logs it (`poll finished` durationMs). "Invocation overhead": an invocation\'s wall time less its longest poll (job intake, deployed config, metrics flush). "CPU ms per empty mailbox": the workers\' CPU in invocations whose mailboxes were all empty, per mailbox; "per message": the rest of the CPU over the messages stored. Failed polls in these runs: ' +
      fleet.runs.map((run) => `${run.failedPolls} at batch size ${run.batchSize}`).join(', ') +
      '.',
    '',
    ...logOutputLine(fleet.runs),
    ...healthLine(fleet),
  ];
}

/** The circuit breaker's records: every polled mailbox has one, and a run writes only those that changed. */
function healthLine(fleet: FleetResult): string[] {
  const measured = fleet.runs.filter((run) => run.healthRecords !== undefined);
  if (measured.length === 0) return [];
  const each = measured.map(
    (run) =>
      `after batch size ${run.batchSize}, ${run.healthRecords} records for ${fleet.plan.mailboxes} mailboxes, ${run.healthWrites} of them written by that run`,
  );
  return [
    `Health records (\`<keyPrefix>.health/<mailboxId>.json\` in the message bucket; every mailbox run GETs its own, and PUTs it only when it changed), the runs in the order above, on one bucket: ${each.join('; ')}.`,
    '',
  ];
}

/** What the handler printed per mailbox run: the CloudWatch Logs ingestion docs/deploy.md prices. */
function logOutputLine(runs: FleetResult['runs']): string[] {
  const measured = runs.filter((run) => run.logBytesPerEmptyMailbox !== undefined);
  if (measured.length === 0) return [];
  // A batch of 10 seldom holds only empty mailboxes: then there is no "empty" figure for it.
  const empty = (run: FleetResult['runs'][number]) =>
    Number.isFinite(run.logBytesPerEmptyMailbox)
      ? `${Math.round(run.logBytesPerEmptyMailbox!)} bytes in ${run.logLinesPerEmptyMailbox!.toFixed(1)} lines per empty mailbox, `
      : '';
  const each = measured.map(
    (run) =>
      `batch size ${run.batchSize}: ${empty(run)}${Math.round(run.logBytesPerMailbox!)} bytes per mailbox on average`,
  );
  return [
    `Log output of the poll handler (Powertools JSON lines and EMF documents, as CloudWatch Logs ingests them; the runtime's START/END/REPORT lines per invocation come on top): ${each.join('; ')}.`,
    '',
  ];
}

export function arithmeticSection(results: BenchResults): string[] {
  const fleet = results.fleet;
  if (fleet === undefined) return [];
  const mailboxes = 10_000;
  const memoryGb = FLEET_INPUTS.pollMemoryGb;
  const rows = fleet.runs.map((run) => {
    const estimated = lambdaInvocationSeconds(
      run.emptyMs.p50,
      run.mailboxesPerInvocation,
      run.cpuMsPerMailbox,
      memoryGb,
    );
    const measure = {
      batchSize: run.batchSize,
      secondsPerInvocation: estimated,
      mailboxesPerInvocation: run.mailboxesPerInvocation,
    };
    return { run, estimated, a: fleetArithmetic(measure, mailboxes, 300, memoryGb) };
  });
  const withMessages = fleet.runs.find((run) => !Number.isNaN(run.cpuMsPerMessage));
  const cpuPerMessage = results.s3Path?.cpuMsPerMessage.median ?? withMessages?.cpuMsPerMessage ?? Number.NaN;
  const perMessages = perHundredThousandMessages(cpuPerMessage, fleet.plan.messageBytes, memoryGb);
  const inputs = billInputsOf(fleet);
  return [
    ARITHMETIC_HEADING,
    '',
    `From the fleet runs above (${fleet.plan.rttMs} ms RTT to the mail server), for ${mailboxes.toLocaleString('en-US')} mailboxes every 5 minutes (${(30 * 288).toLocaleString('en-US')} cycles in a 30-day month), the poll function at 512 MB arm64 (≈ 0.29 vCPU). An invocation on Lambda is estimated as the longer of the median empty poll (its round trips; a batch's polls run concurrently) and the batch's CPU (mailboxes × CPU ms per mailbox) at 0.29 vCPU: the time measured here is inflated by the saturated shared machine, where 4 workers, Dovecot and the emulator share 2 cores. Concurrency: invocations per cycle × estimated invocation time × 2 (headroom) ÷ 300 s; Lambda GB-s from the same estimate, at us-east-1 list prices as of ${PRICES.date} (bench/fleet-cost.ts PRICES).`,
    '',
    table(
      [
        'Batch size',
        'Invocation s: measured here / on Lambda (estimate)',
        'Invocations per cycle',
        'Poll concurrency needed',
        'GB-s per mailbox run (on Lambda)',
        'Lambda / month',
      ],
      rows.map(({ run, a, estimated }) => [
        String(run.batchSize),
        `${run.meanInvocationSeconds.toFixed(2)} / ${estimated.toFixed(2)}`,
        a.invocationsPerCycle.toLocaleString('en-US'),
        String(a.concurrency),
        ((estimated * memoryGb) / run.mailboxesPerInvocation).toFixed(3),
        usd(a.lambdaUsd),
      ]),
    ),
    '',
    `The month with the construct's defaults (pollBatchSize ${inputs.batchSize}, maxConcurrency ${inputs.maxConcurrency}, no per-mailbox metrics), line by line, from this run: ${inputs.cpuMsPerMailbox.toFixed(0)} ms of CPU per mailbox at batch size ${inputs.batchSize}, an empty poll of ${inputs.emptyPollMs.toFixed(0)} ms, ${inputs.logBytesPerRun.toFixed(0)} bytes of log output per mailbox run; every other input and price as in bench/fleet-bill.ts, whose recorded figures give the table of docs/deploy.md ("Scale and cost").`,
    '',
    billTable(inputs),
    '',
    `- **Per 100,000 messages** (${fleet.plan.messageBytes / 1024} KiB each; ${cpuPerMessage.toFixed(2)} CPU ms per message, at 512 MB ≈ 0.29 vCPU): Lambda ${usd(perMessages.lambdaUsd)}, S3 PUTs ${usd(perMessages.s3PutUsd)}, notifications ${usd(perMessages.notifyUsd)} (SendMessageBatch, 10 per request), storage ${usd(perMessages.storageUsdPerMonth)} per month kept: ${usd(perMessages.totalUsd)} plus storage. The messages are cheap; the polls of empty mailboxes are what a fleet pays for.`,
    '',
  ];
}

/**
 * The bill's inputs from a fleet run: the CPU per mailbox of the run at the default batch size, the empty
 * poll of the run at batch size 1 (its polls do not compete for the bench machine's cores), and the log
 * output; the recorded figures of bench/fleet-bill.ts where this run has none.
 */
function billInputsOf(fleet: FleetResult): FleetInputs {
  const batched = fleet.runs.find((run) => run.batchSize === FLEET_INPUTS.batchSize);
  const single = fleet.runs.find((run) => run.batchSize === 1);
  const finite = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) ? value : fallback;
  return {
    ...FLEET_INPUTS,
    cpuMsPerMailbox: finite(batched?.cpuMsPerMailbox, FLEET_INPUTS.cpuMsPerMailbox),
    emptyPollMs: finite(single?.emptyMs.p50, FLEET_INPUTS.emptyPollMs),
    logBytesPerRun: finite(
      batched?.logBytesPerMailbox ?? single?.logBytesPerMailbox,
      FLEET_INPUTS.logBytesPerRun,
    ),
  };
}
