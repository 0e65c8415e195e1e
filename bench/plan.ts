import type { EmptyPollPlan } from './scenarios/empty-poll.ts';
import type { FleetPlan } from './scenarios/fleet.ts';

/** How much each scenario does: the full benchmark, and the smoke run that only proves the harness works. */

const KiB = 1024;
const MiB = 1024 * KiB;

export interface BenchPlan {
  readonly repetitions: number;
  readonly loopback: { readonly messages: number; readonly messageBytes: number };
  readonly delayed: {
    readonly messages: number;
    readonly messageBytes: number;
    readonly oneWayMs: number;
    /** Every contender, or only mailbox-poller → S3+SQS (the smoke run's time is short). */
    readonly everyContender: boolean;
  };
  readonly sweepBytes: readonly number[];
  readonly many: {
    readonly mailboxes: number;
    readonly messagesEach: number;
    readonly messageBytes: number;
    /** `--concurrency` values; the config default (4) first. */
    readonly concurrencies: readonly number[];
  };
  readonly lambdaInitSamples: number;
  /** Scenario 6: the S3 path alone; more repetitions than the rest, as two variants are compared. */
  readonly s3Path: {
    readonly messages: number;
    readonly messageBytes: number;
    readonly inFlight: number;
    readonly repetitions: number;
  };
  /** Scenario 7: the fleet (N mailboxes, M workers, RTT and batch sizes can be changed by flags). */
  readonly fleet: FleetPlan;
  /** Scenario `empty-poll` (section 10): round trips of an empty poll, this checkout and an earlier commit. */
  readonly emptyPoll: EmptyPollPlan;
  /** The diagnostic contender (poller → discard) in scenarios 1 and 2. */
  readonly diagnostics: boolean;
  /** CPU profiles of one extra loopback run per destination. */
  readonly profile: boolean;
}

export const BENCH_PLANS: { readonly full: BenchPlan; readonly smoke: BenchPlan } = {
  full: {
    repetitions: 3,
    loopback: { messages: 1000, messageBytes: 20 * KiB },
    delayed: { messages: 200, messageBytes: 20 * KiB, oneWayMs: 25, everyContender: true },
    sweepBytes: [1 * KiB, 100 * KiB, 10 * MiB, 200 * MiB],
    many: { mailboxes: 200, messagesEach: 20, messageBytes: 20 * KiB, concurrencies: [4, 16] },
    lambdaInitSamples: 5,
    s3Path: { messages: 1000, messageBytes: 20 * KiB, inFlight: 16, repetitions: 5 },
    fleet: {
      mailboxes: 500,
      workers: 4,
      rttMs: 50,
      batchSizes: [1, 10],
      fewShare: 0.1,
      fewMessages: 3,
      manyShare: 0.01,
      manyMessages: 200,
      messageBytes: 20 * KiB,
    },
    // cd49f81: the client before login attempts were capped and empty polls lost their round trips.
    emptyPoll: { rttMs: 50, processes: 3, warmPolls: 5, beforeCommit: 'cd49f81' },
    diagnostics: true,
    profile: true,
  },
  smoke: {
    repetitions: 1,
    loopback: { messages: 5, messageBytes: 20 * KiB },
    delayed: { messages: 2, messageBytes: 20 * KiB, oneWayMs: 25, everyContender: false },
    sweepBytes: [1 * KiB],
    many: { mailboxes: 2, messagesEach: 1, messageBytes: 20 * KiB, concurrencies: [4] },
    lambdaInitSamples: 1,
    s3Path: { messages: 50, messageBytes: 20 * KiB, inFlight: 16, repetitions: 1 },
    fleet: {
      mailboxes: 20,
      workers: 2,
      rttMs: 50,
      batchSizes: [1, 10],
      fewShare: 0.1,
      fewMessages: 2,
      manyShare: 0.05,
      manyMessages: 20,
      messageBytes: 20 * KiB,
    },
    emptyPoll: { rttMs: 50, processes: 1, warmPolls: 2, beforeCommit: 'cd49f81' },
    diagnostics: false,
    profile: false,
  },
};
