/** Everything one benchmark run measured, as the report renders it. */
import type { LambdaBundle } from './bundles.ts';
import type { ContestResult } from './contest.ts';
import type { MachineInfo } from './machine.ts';
import type { ProfileSummary } from './profile.ts';
import type { FleetResult } from './scenarios/fleet.ts';
import type { ManyMailboxesResult } from './scenarios/many-mailboxes.ts';
import type { S3PathResult } from './scenarios/s3-path.ts';
import type { SweepRow } from './targets.ts';

export interface ProfiledRun {
  readonly destination: 'S3+SQS' | 'local default';
  readonly messages: number;
  readonly wallSeconds: number;
  readonly summary: ProfileSummary;
}

export interface BenchResults {
  readonly smoke: boolean;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly command: string;
  readonly repetitions: number;
  readonly machine: MachineInfo;
  /** 1, 5 and 15-minute load averages when the harness started, and when measuring began. */
  readonly loadAtStart: readonly number[];
  readonly loadAtMeasuring: readonly number[];
  readonly loadAtEnd: readonly number[];
  readonly waitedForQuietSeconds: number;
  readonly loopback?: ContestResult;
  readonly delayed?: ContestResult & { readonly rttMs: number };
  readonly sweep?: readonly SweepRow[];
  readonly many?: ManyMailboxesResult;
  readonly lambda?: readonly LambdaBundle[];
  readonly profiles?: readonly ProfiledRun[];
  /** Scenario 6: CPU per message on the S3 path alone, with the load average when it ran. */
  readonly s3Path?: S3PathResult & { readonly load: readonly number[] };
  /** Scenario 7: the fleet. */
  readonly fleet?: FleetResult;
  /** bench/notes.md, verbatim. */
  readonly notes: string;
}
