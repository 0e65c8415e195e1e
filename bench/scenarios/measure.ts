/** Runs the chosen scenarios in order, 1 to 5, and collects what they measured. */
import path from 'node:path';
import { type BuiltBundles, measureLambdaBundles } from '../bundles.ts';
import type { Contender } from '../contenders.ts';
import { runContest } from '../contest.ts';
import type { BenchEnvironment } from '../environment.ts';
import { loadAverage } from '../machine.ts';
import type { BenchPlan } from '../plan.ts';
import type { BenchResults } from '../results.ts';
import type { SweepRow } from '../targets.ts';
import { runFleet } from './fleet.ts';
import { runManyMailboxes } from './many-mailboxes.ts';
import { profilePoller } from './profile-run.ts';
import { runS3Path } from './s3-path.ts';

export type Measured = Pick<
  BenchResults,
  'loopback' | 'delayed' | 'sweep' | 'many' | 'lambda' | 'profiles' | 's3Path' | 'fleet'
>;

export interface MeasureContext {
  readonly env: BenchEnvironment;
  readonly bundles: BuiltBundles;
  readonly contenders: readonly Contender[];
  readonly plan: BenchPlan;
  readonly scenarios: ReadonlySet<number>;
  /** CPU profiles go here. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

export async function measureScenarios(context: MeasureContext): Promise<Measured> {
  const { env, bundles, contenders, plan, scenarios, log } = context;
  const { repetitions, loopback, delayed } = plan;
  const measured: { -readonly [K in keyof Measured]: Measured[K] } = {};
  if (scenarios.has(1)) {
    log(`bench: 1. loopback, ${loopback.messages} × ${loopback.messageBytes} B`);
    measured.loopback = await runContest(env, {
      ...loopback,
      repetitions,
      endpoint: env.direct,
      contenders,
      log,
    });
  }
  if (scenarios.has(1) && plan.profile) {
    log('bench:    CPU profile of one more run per destination');
    const profile = (destination: 'S3+SQS' | 'local default', folder: string) =>
      profilePoller(
        env,
        bundles,
        destination,
        loopback.messages,
        loopback.messageBytes,
        path.join(context.workDir, folder),
      );
    measured.profiles = [
      await profile('S3+SQS', 'profile-s3'),
      await profile('local default', 'profile-local'),
    ];
  }
  if (scenarios.has(2)) {
    log(`bench: 2. ${delayed.oneWayMs * 2} ms RTT, ${delayed.messages} × ${delayed.messageBytes} B`);
    const endpoint = await env.delayed(delayed.oneWayMs);
    const some = contenders.filter(({ id }) => id === 'poller-s3');
    const contest = await runContest(env, {
      ...delayed,
      repetitions,
      endpoint,
      contenders: delayed.everyContender ? contenders : some,
      log,
    });
    measured.delayed = { ...contest, rttMs: delayed.oneWayMs * 2 };
  }
  if (scenarios.has(3)) {
    const pollers = contenders.filter((c) => c.id === 'poller-local' || c.id === 'poller-s3');
    const sweep: SweepRow[] = [];
    for (const messageBytes of plan.sweepBytes) {
      log(`bench: 3. one message of ${messageBytes} B`);
      const contest = await runContest(env, {
        repetitions,
        messages: 1,
        messageBytes,
        endpoint: env.direct,
        contenders: pollers,
        log,
      });
      sweep.push({ bytes: messageBytes, contest });
    }
    measured.sweep = sweep;
  }
  if (scenarios.has(4)) {
    log(`bench: 4. ${plan.many.mailboxes} mailboxes × ${plan.many.messagesEach}`);
    measured.many = await runManyMailboxes(env, bundles, { ...plan.many, repetitions, log });
  }
  if (scenarios.has(5)) {
    log('bench: 5. Lambda bundles');
    measured.lambda = await measureLambdaBundles(bundles.lambdas, plan.lambdaInitSamples);
  }
  if (scenarios.has(6)) {
    log(`bench: 6. the S3 path alone, ${plan.s3Path.messages} × ${plan.s3Path.messageBytes} B`);
    const s3Path = await runS3Path(env, bundles.s3Path, plan.s3Path);
    measured.s3Path = { ...s3Path, load: loadAverage() };
  }
  if (scenarios.has(7)) {
    const { mailboxes, workers, rttMs } = plan.fleet;
    log(`bench: 7. fleet: ${mailboxes} mailboxes, ${workers} workers, ${rttMs} ms RTT`);
    measured.fleet = await runFleet(env, bundles, plan.fleet, loadAverage, log);
  }
  return measured;
}
