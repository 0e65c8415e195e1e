/**
 * The arithmetic for a fleet from the fleet scenario's measurements: the poll concurrency that carries
 * `mailboxes` every schedule period, and what a month of it costs at list prices. Every price and every
 * assumption is a named constant here, and the report prints them beside the result.
 */

/** us-east-1 list prices (aws.amazon.com/<service>/pricing), as read for this report on the date below. */
export const PRICES = {
  date: '2026-12-07',
  /** Lambda arm64, first 7.5 billion GB-s a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS FIFO requests (first 100 billion a month); each 64 KiB of payload is one request. */
  sqsFifoPerMillion: 0.5,
  sqsStandardPerMillion: 0.4,
  s3PutPer1000: 0.005,
  s3StandardPerGbMonth: 0.023,
  secretsPer10000Calls: 0.05,
  secretPerMonth: 0.4,
  /** CloudWatch custom metrics: first 10,000 metrics $0.30 each a month, the next 240,000 $0.10. */
  metricFirst10k: 0.3,
  metricNext240k: 0.1,
  /** S3 Standard GET (and other reads), per 1,000. */
  s3GetPer1000: 0.0004,
  /** CloudWatch standard-resolution alarm, per alarm a month. */
  alarmPerMonth: 0.1,
  /** CloudWatch Logs ingestion (Standard log class), per GB. */
  logsIngestionPerGb: 0.5,
  /** Contributor Insights for CloudWatch Logs: per rule a month, and per million log events matched. */
  insightRulePerMonth: 0.5,
  insightEventsPerMillion: 0.02,
  /** CloudWatch dashboard a month (the first 3 of an account are free). */
  dashboardPerMonth: 3,
  /** EventBridge Scheduler, after 14 million invocations a month free. */
  schedulerPerMillion: 1,
} as const;

export const MONTH_DAYS = 30;
/** Metric names the poll function emits per poll (lib/lambda/metrics.ts outcomeMetrics). */
export const METRICS_PER_POLL = 7;
/** Assumed: how long Lambda keeps a poll container before replacing it (not documented by AWS). */
export const ASSUMED_CONTAINER_HOURS = 2;

export interface FleetMeasure {
  readonly batchSize: number;
  /** Mean wall time of one invocation (s), and mailboxes per invocation. */
  readonly secondsPerInvocation: number;
  readonly mailboxesPerInvocation: number;
}

/** The vCPU share Lambda gives a function of `memoryGb` (1 vCPU at 1,769 MB). */
export const vcpuShare = (memoryGb: number): number => Math.min(1, (memoryGb * 1024) / 1769);

/**
 * One invocation's time on Lambda, from the fleet run: the mailboxes of a batch are polled concurrently,
 * so it takes at least one poll's round trips (the median poll), and at least its CPU at the function's
 * vCPU share. The measured invocation time on the shared 2-core bench machine is longer than both when
 * the machine is saturated; this estimate is what a container with its own CPU share would take.
 */
export function lambdaInvocationSeconds(
  medianPollMs: number,
  mailboxesPerInvocation: number,
  cpuMsPerMailbox: number,
  memoryGb: number,
): number {
  const cpuSeconds = (mailboxesPerInvocation * cpuMsPerMailbox) / 1000 / vcpuShare(memoryGb);
  return Math.max(medianPollMs / 1000, cpuSeconds);
}

export interface FleetArithmetic {
  readonly batchSize: number;
  readonly invocationsPerCycle: number;
  /** Concurrent invocations needed to finish a cycle within the period, with 2× headroom. */
  readonly concurrency: number;
  readonly lambdaUsd: number;
  readonly sqsJobsUsd: number;
  readonly secretCallsUsd: number;
  readonly secretsStoredUsd: number;
  readonly metricsPerMailboxUsd: number;
  readonly metricsServiceOnlyUsd: number;
  readonly totalUsd: number;
}

export function customMetricsUsd(metrics: number): number {
  const first = Math.min(metrics, 10_000);
  return first * PRICES.metricFirst10k + Math.max(0, metrics - 10_000) * PRICES.metricNext240k;
}

export function fleetArithmetic(
  measure: FleetMeasure,
  mailboxes: number,
  periodSeconds: number,
  memoryGb: number,
): FleetArithmetic {
  const cyclesPerMonth = (MONTH_DAYS * 86_400) / periodSeconds;
  const invocationsPerCycle = Math.ceil(mailboxes / measure.mailboxesPerInvocation);
  const busySecondsPerCycle = invocationsPerCycle * measure.secondsPerInvocation;
  const concurrency = Math.ceil((2 * busySecondsPerCycle) / periodSeconds);
  const invocations = invocationsPerCycle * cyclesPerMonth;
  const lambdaUsd =
    (invocations / 1e6) * PRICES.lambdaPerMillionRequests +
    invocations * measure.secondsPerInvocation * memoryGb * PRICES.lambdaArmPerGbSecond;
  // Per job: 1/10 SendMessageBatch (dispatch); per batch: one ReceiveMessage and one DeleteMessageBatch
  // by the event source mapping.
  const sqsRequests = (mailboxes / 10 + invocationsPerCycle * 2) * cyclesPerMonth;
  const sqsJobsUsd = (sqsRequests / 1e6) * PRICES.sqsFifoPerMillion;
  // Each container reads each mailbox's secret once (cached for its life) and sees every mailbox soon.
  const containersPerMonth = concurrency * ((MONTH_DAYS * 24) / ASSUMED_CONTAINER_HOURS);
  const secretCallsUsd = ((containersPerMonth * mailboxes) / 10_000) * PRICES.secretsPer10000Calls;
  const secretsStoredUsd = mailboxes * PRICES.secretPerMonth;
  const metricsPerMailboxUsd = customMetricsUsd(METRICS_PER_POLL * (mailboxes + 1));
  const metricsServiceOnlyUsd = customMetricsUsd(METRICS_PER_POLL);
  return {
    batchSize: measure.batchSize,
    invocationsPerCycle,
    concurrency,
    lambdaUsd,
    sqsJobsUsd,
    secretCallsUsd,
    secretsStoredUsd,
    metricsPerMailboxUsd,
    metricsServiceOnlyUsd,
    totalUsd: lambdaUsd + sqsJobsUsd + secretCallsUsd + secretsStoredUsd + metricsPerMailboxUsd,
  };
}

/** What 100,000 stored messages cost beyond the polls: S3 PUTs, storage, notifications, Lambda CPU. */
export function perHundredThousandMessages(cpuMsPerMessage: number, messageBytes: number, memoryGb: number) {
  const messages = 100_000;
  // 512 MB of Lambda buys about 512/1769 of a vCPU: CPU-bound work takes that much longer in wall time.
  const vcpu = Math.min(1, (memoryGb * 1024) / 1769);
  const lambdaUsd = messages * (cpuMsPerMessage / 1000 / vcpu) * memoryGb * PRICES.lambdaArmPerGbSecond;
  const s3PutUsd = (messages / 1000) * PRICES.s3PutPer1000;
  const storageUsdPerMonth = ((messages * messageBytes) / 1024 ** 3) * PRICES.s3StandardPerGbMonth;
  const notifyUsd = (messages / 10 / 1e6) * PRICES.sqsStandardPerMillion;
  return { lambdaUsd, s3PutUsd, storageUsdPerMonth, notifyUsd, totalUsd: lambdaUsd + s3PutUsd + notifyUsd };
}
