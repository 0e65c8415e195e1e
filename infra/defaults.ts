/**
 * Every default of the MailboxIngestion construct, in one place. Secure by default: private encrypted
 * bucket and queues, TLS-only access, dead-letter queues, bounded log retention, least-privilege roles
 * (see grants.ts). Props only ever loosen or tune what is here.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  type BundlingOptions,
  type ICommandHooks,
  OutputFormat,
  SourceMapMode,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  DEFAULT_JOB_MAX_RECEIVE_COUNT,
  DEFAULT_SCHEDULE_PERIOD_SECONDS,
  ENV_NAMES,
} from '../lib/lambda/env-names.ts';
import { DEFAULT_METRICS_NAMESPACE, PER_MAILBOX_METRICS_DEFAULT } from '../lib/lambda/metric-names.ts';

/**
 * The package root, the nearest folder above this module with a package.json: the repository (this
 * module is infra/defaults.ts) or the installed package (it is dist/esm/infra/defaults.js). The prebuilt
 * bundles (dist/functions/) and, in a checkout, the functions' sources and the lock file are found from it.
 */
export const PROJECT_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const DEFAULTS = {
  /** Every 5 minutes: the dispatch function's default too (lib/lambda/env-names.ts). */
  schedule: Duration.seconds(DEFAULT_SCHEDULE_PERIOD_SECONDS),
  keyPrefix: 'mail/',
  /** The poll function's default too (lib/lambda/metric-names.ts). */
  metricsNamespace: DEFAULT_METRICS_NAMESPACE,

  pollMemorySize: 512,
  pollTimeout: Duration.minutes(5),
  /** SQS event source maxConcurrency: at most this many poll invocations at once. */
  maxConcurrency: 10,
  /** SQS event source batchSize: jobs (mailboxes) per poll invocation; 10 is the FIFO maximum. */
  pollBatchSize: 10,
  /**
   * Poll metrics per MailboxId as well as per Service: off, the same default as the poll function's
   * (PER_MAILBOX_METRICS_DEFAULT). 7 custom metrics a mailbox cost more than everything else at scale.
   */
  perMailboxMetrics: PER_MAILBOX_METRICS_DEFAULT,
  /** No stack outputs unless asked for: an output another stack imports can no longer change. */
  outputs: false,
  /** The notification queue stays when an event bus is added: its consumers keep working. */
  notificationQueueEnabled: true,
  /**
   * The optional parse stage (infra/parse-stage.ts): off unless `parsedMail` is set. Its memory is the
   * poll function's default, which a 100 MiB message was measured to fit (test/integration/
   * parsed-memory.test.ts), and never more than the poll function's: a user who sized the poll down
   * sized the account's spend down.
   */
  parseMemorySize: 512,
  /** A 100 MiB message parses in well under a minute; 5 minutes leaves room for a slow S3. */
  parseTimeout: Duration.minutes(5),
  /** S3 events per parse invocation: one message each, so one slow message delays no other. */
  parseBatchSize: 1,
  /** Parse invocations at once: the stage waits rather than compete with the pollers for the account's concurrency. */
  parseMaxConcurrency: 5,
  /** A message whose parse failed this often for want of S3 or SQS goes to the stage's DLQ. */
  parseMaxReceiveCount: 5,
  dispatchMemorySize: 256,
  dispatchTimeout: Duration.minutes(1),

  /** AWS guidance for SQS-triggered functions: visibility timeout at least 6 × the function timeout. */
  jobVisibilityFactor: 6,
  /**
   * After this many failed receives a job moves to the job DLQ (transient trouble never does); the poll
   * function's default too (lib/lambda/env-names.ts).
   */
  jobMaxReceiveCount: DEFAULT_JOB_MAX_RECEIVE_COUNT,
  /** A job older than a day is long superseded by later slots. */
  jobRetention: Duration.days(1),
  /** Consumers of notifications may be down for a while; keep them as long as SQS allows. */
  notificationRetention: Duration.days(14),
  notificationMaxReceiveCount: 5,
  deadLetterRetention: Duration.days(14),

  logRetention: logs.RetentionDays.THREE_MONTHS,

  /**
   * Versioning on: a stored message is never overwritten by the poller (If-None-Match, enforced by the
   * bucket policy), and versioning keeps every version should anything else write over one.
   */
  versioned: true,

  /** Multipart leftovers of an interrupted upload are useless after a day. */
  incompleteUploadExpiry: Duration.days(1),

  /**
   * Keep mode rewrites each mailbox's state object under `.state/` on every run (every schedule period),
   * so a versioned bucket gathers a superseded version per run: 0.3 to 1.4 GB a day at 100,000 kept
   * messages. Only the newest version is ever read; an older one only serves to undo a bad write by hand,
   * so the shortest lifecycle period S3 has, a day, is enough.
   */
  stateVersionExpiry: Duration.days(1),

  /** PollFailures (all mailboxes, all reasons) in one alarm period that raise the alarm. */
  pollFailureAlarmThreshold: 5,
  pollFailureAlarmPeriod: Duration.minutes(15),
  /**
   * Consecutive alarm periods (each at least one schedule period) with uncommitted messages that raise the
   * alarm: one retry or the next slot usually commits them; a message still uncommitted after three is stuck.
   */
  uncommittedAlarmPeriods: 3,
} as const;

export const RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;

/** The oldest-job alarm fires when a job waited three schedule periods (at least 15 minutes). */
export function defaultOldestJobAgeThreshold(schedule: Duration): Duration {
  return Duration.seconds(Math.max(15 * 60, 3 * schedule.toSeconds()));
}

/**
 * CloudWatch caps an alarm's period times its evaluation periods at one day; a longer schedule gets a
 * one-day window, which then may miss a cycle.
 */
const ALARM_WINDOW_LIMIT = Duration.days(1);

/**
 * The period of the needs-attention alarm: two schedule periods. Each mailbox reports MailboxHealth once
 * per cycle, but a rate schedule starts whenever it was created, not on CloudWatch's period boundaries,
 * and a cycle's jobs run over a while after their slot: a window of one schedule period can fall between
 * two runs of a mailbox and read "nobody needs attention". Any window of two periods holds one whole cycle.
 */
export function needsAttentionAlarmPeriod(schedule: Duration): Duration {
  return Duration.seconds(Math.min(2 * schedule.toSeconds(), ALARM_WINDOW_LIMIT.toSeconds()));
}

/** Bucket settings that apply whatever the caller passes in `bucketProps`. */
export const ENFORCED_BUCKET_PROPS = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies s3.BucketProps;

/**
 * Environment every function gets. Source maps turn minified stack traces back into file:line; the
 * runtime's connection reuse is on by default in SDK v3, so nothing else is needed.
 */
export const FUNCTION_ENVIRONMENT = { [ENV_NAMES.nodeOptions]: '--enable-source-maps' } as const;

/**
 * esbuild settings for the functions bundled from the sources (function-code.ts), the same as
 * scripts/build.mjs uses for dist/ (ESBUILD_OPTIONS): ESM for node22, minified but keeping names, with a
 * source map, and a `require` for the few CommonJS dependencies that call it; then the lazily loaded
 * packages beside the bundle.
 * The AWS SDK is bundled: a pinned, tree-shaken SDK starts faster than the runtime's full copy and
 * keeps the checksum features the S3 store relies on, whatever SDK version the runtime ships.
 */
/**
 * After esbuild, the packages the code loads lazily with `require` (libmime, for rare charsets in
 * headers) are put beside the bundle as node_modules/<name>, by the step scripts/build.mjs takes for dist/.
 */
const SHIP_LAZY_MODULES: ICommandHooks = {
  beforeBundling: () => [],
  beforeInstall: () => [],
  afterBundling: (inputDir, outputDir) => [
    `"${process.execPath}" "${path.join(inputDir, 'scripts', 'build.mjs')}" --ship-lazy-modules "${path.join(outputDir, 'index.mjs')}"`,
  ],
};

export const BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  bundleAwsSDK: true,
  externalModules: [],
  mainFields: ['module', 'main'],
  // Error class names survive minification (`Pop3ServerError`, not `Kn`), as in scripts/build.mjs.
  keepNames: true,
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  commandHooks: SHIP_LAZY_MODULES,
};

/**
 * BUNDLING for the function of `entry` (functions/<name>.ts): after the CDK's esbuild step,
 * scripts/build.mjs bundles the entry again into the same index.mjs with its own plugins (the config
 * validator compiled in, the dependencies only some messages need left beside the bundle:
 * scripts/deferred-dependencies.mjs), which the esbuild command line cannot take, and ships what it
 * loads on demand. What is deployed from the sources is then the bundle dist/ holds, byte for byte.
 */
export function bundlingFor(entry: string): BundlingOptions {
  const relativeEntry = path.relative(PROJECT_ROOT, entry);
  return {
    ...BUNDLING,
    commandHooks: {
      ...SHIP_LAZY_MODULES,
      afterBundling: (inputDir, outputDir) => [
        `"${process.execPath}" "${path.join(inputDir, 'scripts', 'build.mjs')}" --function-entry "${path.join(inputDir, relativeEntry)}" --ship-lazy-modules "${path.join(outputDir, 'index.mjs')}"`,
      ],
    },
  };
}
