/** BENCHMARKS.md sections 6 (the S3 path alone), 7 (the fleet) and 8 (the arithmetic for 10,000 mailboxes). */
import {
  ASSUMED_CONTAINER_HOURS,
  customMetricsUsd,
  fleetArithmetic,
  lambdaInvocationSeconds,
  METRICS_PER_POLL,
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
  const memoryGb = 0.5;
  const rows = fleet.runs.map((run) => {
    const estimated = lambdaInvocationSeconds(
      run.emptyMs.p50,
      run.mailboxesPerInvocation,
      run.cpuMsPerMailbox,
      memoryGb,
    );
    return {
      run,
      estimated,
      a: fleetArithmetic(
        {
          batchSize: run.batchSize,
          secondsPerInvocation: estimated,
          mailboxesPerInvocation: run.mailboxesPerInvocation,
        },
        mailboxes,
        300,
        memoryGb,
      ),
    };
  });
  const withMessages = fleet.runs.find((run) => !Number.isNaN(run.cpuMsPerMessage));
  const cpuPerMessage = results.s3Path?.cpuMsPerMessage.median ?? withMessages?.cpuMsPerMessage ?? Number.NaN;
  const perMessages = perHundredThousandMessages(cpuPerMessage, fleet.plan.messageBytes, memoryGb);
  const perMailboxMetrics = METRICS_PER_POLL * (mailboxes + 1);
  return [
    ARITHMETIC_HEADING,
    '',
    `From the fleet runs above (${fleet.plan.rttMs} ms RTT to the mail server), for ${mailboxes.toLocaleString('en-US')} mailboxes every 5 minutes (${(30 * 288).toLocaleString('en-US')} cycles in a 30-day month), the poll function at 512 MB arm64 (≈ 0.29 vCPU). An invocation on Lambda is estimated as the longer of the median empty poll (its round trips; a batch's polls run concurrently) and the batch's CPU (mailboxes × CPU ms per mailbox) at 0.29 vCPU: the time measured here is inflated by the saturated shared machine, where 4 workers, Dovecot and the emulator share 2 cores. Concurrency: invocations per cycle × estimated invocation time × 2 (headroom) ÷ 300 s; Lambda GB-s from the same estimate. Prices: us-east-1 list prices as of ${PRICES.date}: Lambda arm64 $${PRICES.lambdaArmPerGbSecond} per GB-s and $${PRICES.lambdaPerMillionRequests} per million requests; SQS FIFO $${PRICES.sqsFifoPerMillion} and standard $${PRICES.sqsStandardPerMillion} per million requests; S3 PUT $${PRICES.s3PutPer1000} per 1,000, storage $${PRICES.s3StandardPerGbMonth} per GB-month; Secrets Manager $${PRICES.secretsPer10000Calls} per 10,000 calls and $${PRICES.secretPerMonth} per secret per month; CloudWatch custom metrics $${PRICES.metricFirst10k} (first 10,000) and $${PRICES.metricNext240k} (next 240,000) per metric per month.`,
    '',
    table(
      [
        'Batch size',
        'Invocation s: measured here / on Lambda (estimate)',
        'Invocations per cycle',
        'Poll concurrency needed',
        'Lambda / month',
        'SQS job queue / month',
        'Secrets Manager calls / month',
        'Secrets stored / month',
        'Per-mailbox metrics / month',
        'Total / month',
        'Total without per-mailbox metrics',
      ],
      rows.map(({ run, a, estimated }) => [
        String(run.batchSize),
        `${run.meanInvocationSeconds.toFixed(2)} / ${estimated.toFixed(2)}`,
        a.invocationsPerCycle.toLocaleString('en-US'),
        String(a.concurrency),
        usd(a.lambdaUsd),
        usd(a.sqsJobsUsd),
        usd(a.secretCallsUsd),
        usd(a.secretsStoredUsd),
        usd(a.metricsPerMailboxUsd),
        usd(a.totalUsd),
        usd(a.totalUsd - a.metricsPerMailboxUsd + a.metricsServiceOnlyUsd),
      ]),
    ),
    '',
    `- **CloudWatch metrics dominate.** The poll function emits ${METRICS_PER_POLL} metrics per poll with the dimension sets [Service] and [Service, MailboxId] (plus PollFailures by Reason, and by Reason and MailboxId, on failures). Each MailboxId makes ${METRICS_PER_POLL} more custom metrics: ${perMailboxMetrics.toLocaleString('en-US')} metrics, ${usd(customMetricsUsd(perMailboxMetrics))} a month, against ${usd(customMetricsUsd(METRICS_PER_POLL))} with the [Service] set alone. Per-mailbox detail is in the logs (\`poll finished\` carries mailboxId and counts), queryable with Logs Insights at no per-mailbox cost.`,
    `- **Secrets stored**: one secret per mailbox at $${PRICES.secretPerMonth} a month is ${usd(mailboxes * PRICES.secretPerMonth)}. Reads are cached per container for its life: each container reads each mailbox's secret once; assuming containers live about ${ASSUMED_CONTAINER_HOURS} h, that is the "calls" column. The GetSecretValue quota (10,000 requests/s) is far away: a new container reads at most its batch's secrets at once.`,
    `- **Per 100,000 messages** (${fleet.plan.messageBytes / 1024} KiB each; ${cpuPerMessage.toFixed(2)} CPU ms per message, at 512 MB ≈ 0.29 vCPU): Lambda ${usd(perMessages.lambdaUsd)}, S3 PUTs ${usd(perMessages.s3PutUsd)}, notifications ${usd(perMessages.notifyUsd)} (SendMessageBatch, 10 per request), storage ${usd(perMessages.storageUsdPerMonth)} per month kept: ${usd(perMessages.totalUsd)} plus storage. The messages are cheap; the polls of empty mailboxes are what a fleet pays for.`,
    '',
  ];
}
