/**
 * The targets the numbers are held to, each evaluated from the results into met / missed with the
 * measured value next to the goal.
 */
import type { LambdaBundle } from './bundles.ts';
import type { ContenderId } from './contenders.ts';
import { type ContestResult, resultOf } from './contest.ts';

/** On loopback, writing to S3+SQS: at least this many times faster than each peer. */
export const LOOPBACK_SPEEDUP = 5;
/** At 50 ms RTT, writing to S3+SQS: at least this many times faster than each peer. */
export const HIGH_RTT_SPEEDUP = 15;
/** Writing to S3+SQS, at most this many times the raw pipelined drain's time. */
export const RAW_DRAIN_FACTOR = 3;
/** Peak RSS of the largest message over the 1 KB one, at most. */
export const RSS_GROWTH_MIB = 64;
/** Below the multipart threshold (8 MiB): S3 PUT requests per message, at most. */
export const S3_PUTS_PER_MESSAGE = 1;
export const SQS_REQUESTS_PER_MESSAGE = 0.15;
/** From scripts/build.mjs: the deployed functions' size and module init budget. */
export const LAMBDA_MAX_BYTES = 1024 * 1024;
export const LAMBDA_MAX_INIT_MS = 200;

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** undefined: could not be evaluated (a contender missing or failed). */
  readonly met: boolean | undefined;
}

export interface SweepRow {
  readonly bytes: number;
  readonly contest: ContestResult;
}

const PEERS: readonly ContenderId[] = ['fetchmail', 'getmail'];

/** How many times faster the poller (to S3) was than `peer`: peer median / poller median. */
export function speedup(contest: ContestResult, peer: ContenderId, poller: ContenderId = 'poller-s3') {
  const mine = resultOf(contest, poller)?.seconds.median;
  const theirs = resultOf(contest, peer)?.seconds.median;
  return mine === undefined || theirs === undefined || Number.isNaN(mine) || Number.isNaN(theirs)
    ? undefined
    : theirs / mine;
}

export function speedupChecks(
  contest: ContestResult | undefined,
  goal: number,
  where: string,
): TargetCheck[] {
  if (!contest) return [];
  return PEERS.map((peer) => {
    const factor = speedup(contest, peer);
    return {
      target: `${where}: mailbox-poller → S3+SQS ≥ ${goal}× faster than ${peer}`,
      measured: factor === undefined ? 'not measured' : `${factor.toFixed(1)}×`,
      met: factor === undefined ? undefined : factor >= goal,
    };
  });
}

export function rawDrainCheck(contest: ContestResult | undefined, where: string): TargetCheck[] {
  if (!contest) return [];
  const factor = speedup(contest, 'poller-s3', 'raw-drain');
  return [
    {
      target: `${where}: mailbox-poller → S3+SQS within ${RAW_DRAIN_FACTOR}× of the raw drain`,
      measured: factor === undefined ? 'not measured' : `${factor.toFixed(1)}× the raw drain's time`,
      met: factor === undefined ? undefined : factor <= RAW_DRAIN_FACTOR,
    },
  ];
}

export function requestChecks(contest: ContestResult | undefined): TargetCheck[] {
  const requests = contest && resultOf(contest, 'poller-s3')?.requests;
  if (!contest || !requests) return [];
  const puts = requests.s3Puts / contest.messages;
  const sqs = requests.sqsRequests / contest.messages;
  return [
    {
      target: `S3 PUTs per message (${contest.messageBytes / 1024} KiB, under 8 MiB) ≤ ${S3_PUTS_PER_MESSAGE}`,
      measured: puts.toFixed(2),
      met: puts <= S3_PUTS_PER_MESSAGE,
    },
    {
      target: `SQS requests per message ≤ ${SQS_REQUESTS_PER_MESSAGE}`,
      measured: sqs.toFixed(2),
      met: sqs <= SQS_REQUESTS_PER_MESSAGE,
    },
  ];
}

/** Peak RSS of the largest message minus the smallest, per destination. */
export function rssChecks(sweep: readonly SweepRow[]): TargetCheck[] {
  if (sweep.length < 2) return [];
  const smallest = sweep.reduce((a, b) => (a.bytes <= b.bytes ? a : b));
  const largest = sweep.reduce((a, b) => (a.bytes >= b.bytes ? a : b));
  return (['poller-local', 'poller-s3'] as const).map((id) => {
    const low = resultOf(smallest.contest, id)?.peakRssMiB?.median;
    const high = resultOf(largest.contest, id)?.peakRssMiB?.median;
    const growth = low === undefined || high === undefined ? undefined : high - low;
    const destination = id === 'poller-s3' ? 'S3+SQS' : 'local default';
    return {
      target: `Peak RSS (→ ${destination}) at ${formatBytes(largest.bytes)} ≤ ${RSS_GROWTH_MIB} MiB above ${formatBytes(smallest.bytes)}`,
      measured: growth === undefined ? 'not measured' : `+${growth.toFixed(1)} MiB (${high?.toFixed(1)} MiB)`,
      met: growth === undefined ? undefined : growth <= RSS_GROWTH_MIB,
    };
  });
}

export function lambdaChecks(bundles: readonly LambdaBundle[] | undefined): TargetCheck[] {
  return (bundles ?? []).map((bundle) => ({
    target: `Lambda ${bundle.name}: ≤ ${LAMBDA_MAX_BYTES / 1024} KiB and init ≤ ${LAMBDA_MAX_INIT_MS} ms (scripts/build.mjs)`,
    measured: `${(bundle.bytes / 1024).toFixed(0)} KiB, ${bundle.initMs.median.toFixed(0)} ms`,
    met: bundle.bytes <= LAMBDA_MAX_BYTES && bundle.initMs.median <= LAMBDA_MAX_INIT_MS,
  }));
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
