/**
 * Scenario 7, the fleet: the BUILT dispatch and poll handlers as deployed, at fleet scale. One Dovecot
 * with N users (most empty, some with a few messages, a few with hundreds), the deployed config in the
 * emulator's S3, one secret per mailbox in a local Secrets Manager, the FIFO job queue and S3 + SQS in the
 * emulator. The dispatch handler runs here and queues one job per mailbox; M poll workers, each a child
 * process importing the poll bundle (bench/children/fleet-worker.ts, one process per unit of Lambda
 * concurrency, as Lambda runs one container per concurrent invocation), drain the job queue the way the
 * event source mapping does. POP3 goes through the delaying proxy (RTT configurable); S3 and SQS stay
 * local, as for a function next to S3 and far from the mail servers. Run once per batch size.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startSecretsManagerEndpoint } from '../../test/support/secrets-manager-endpoint.ts';
import type { BenchEnvironment } from '../environment.ts';
import { startBackground } from '../process-runner.ts';
import { median } from '../stats.ts';
import { healthWrites, listHealthRecords } from './fleet-health.ts';

const run = promisify(execFile);
const CONFIG_BUCKET = 'bench-config';
const CONFIG_KEY = 'mailbox-poller/config.json';
/** The poll function's KEY_PREFIX: messages under it, health records under `<it>.health/`. */
const KEY_PREFIX = 'mail/';

export interface FleetPlan {
  readonly mailboxes: number;
  readonly workers: number;
  readonly rttMs: number;
  readonly batchSizes: readonly number[];
  /** Share of mailboxes with a few messages, and with hundreds; the rest are empty. */
  readonly fewShare: number;
  readonly fewMessages: number;
  readonly manyShare: number;
  readonly manyMessages: number;
  readonly messageBytes: number;
}

export interface FleetRun {
  readonly batchSize: number;
  readonly wallSeconds: number;
  readonly invocations: number;
  readonly meanInvocationSeconds: number;
  readonly mailboxesPerInvocation: number;
  readonly mailboxesPerSecondPerWorker: number;
  readonly messagesPerSecond: number;
  readonly emptyMs: { readonly p50: number; readonly p99: number; readonly count: number };
  readonly nonEmptyMs: { readonly p50: number; readonly p99: number; readonly count: number };
  /** Median wall time of an invocation less the longest poll in it: intake, metrics, the handler's own work. */
  readonly invocationOverheadMs: number;
  readonly cpuMsPerMailbox: number;
  /** CPU of invocations whose mailboxes were all empty, per mailbox. */
  readonly cpuMsPerEmptyMailbox: number;
  /** (all CPU − empty mailboxes × cpuMsPerEmptyMailbox) ÷ messages. */
  readonly cpuMsPerMessage: number;
  readonly initMs: number;
  readonly messages: number;
  readonly failedPolls: number;
  /**
   * Bytes and lines the handler printed (Powertools JSON logs and EMF documents, newline included) per
   * mailbox run, over all invocations and over those whose mailboxes were all empty: CloudWatch Logs
   * ingestion, less the runtime's START/END/REPORT lines per invocation. Absent in results saved before.
   */
  readonly logBytesPerMailbox?: number;
  readonly logBytesPerEmptyMailbox?: number;
  readonly logLinesPerEmptyMailbox?: number;
  /**
   * Health records in the bucket after the run (one per mailbox polled), and how many the run created or
   * changed (S3 PUTs; each run also GETs its record once). Absent in results saved before.
   */
  readonly healthRecords?: number;
  readonly healthWrites?: number;
}

export interface FleetResult {
  readonly plan: FleetPlan;
  readonly load: readonly number[];
  readonly runs: readonly FleetRun[];
}

/** Users of the fleet's Dovecot (created with the bench environment). */
export const fleetUsers = (mailboxes: number): string[] =>
  Array.from({ length: mailboxes }, (_, i) => `fleet${String(i).padStart(5, '0')}`);

/** Which mailboxes get mail: spread through the list, so every batch mixes empty and full ones. */
function messagesFor(index: number, plan: FleetPlan): number {
  const many = Math.max(1, Math.round(plan.mailboxes * plan.manyShare));
  const few = Math.round(plan.mailboxes * plan.fewShare);
  const step = (count: number) => Math.max(1, Math.floor(plan.mailboxes / count));
  if (index % step(many) === 0 && index / step(many) < many) return plan.manyMessages;
  if (index % step(few) === 1 && Math.floor(index / step(few)) < few) return plan.fewMessages;
  return 0;
}

export async function runFleet(
  env: BenchEnvironment,
  bundles: { fleetWorker: string; delayProxy: string; lambdas: ReadonlyMap<string, string> },
  plan: FleetPlan,
  loadAverage: () => readonly number[],
  log: (line: string) => void,
): Promise<FleetResult> {
  const users = fleetUsers(plan.mailboxes);
  const secrets = await startSecretsManagerEndpoint();
  const proxy = await startBackground(process.execPath, [
    bundles.delayProxy,
    env.dovecot.host,
    String(env.dovecot.pop3sPort),
    String(plan.rttMs / 2),
  ]);
  try {
    await env.fauxqs.createBucket(CONFIG_BUCKET);
    const mailboxes = users.map((user) => {
      secrets.putSecret(`fleet/${user}`, env.account(user).password);
      return {
        id: user,
        host: '127.0.0.1',
        port: Number(proxy.firstLine),
        tls: 'implicit',
        username: user,
        password: { secretId: `fleet/${user}` },
        ca: env.dovecot.caPem,
      };
    });
    await env.fauxqs.s3.send(
      new PutObjectCommand({ Bucket: CONFIG_BUCKET, Key: CONFIG_KEY, Body: JSON.stringify({ mailboxes }) }),
    );
    const runs: FleetRun[] = [];
    for (const batchSize of plan.batchSizes) {
      const messages = await seed(env, users, plan);
      const jobQueueUrl = await env.fauxqs.createQueue(`fleet-jobs-${batchSize}-${Date.now()}`, {
        fifo: true,
        attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
      });
      const functionEnv = {
        ...env.aws.env,
        // The emulator directly, not through the counting proxy: the proxy's work is not the function's.
        AWS_ENDPOINT_URL_S3: env.fauxqs.endpoint,
        AWS_ENDPOINT_URL_SQS: env.fauxqs.endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        CONFIG_BUCKET,
        CONFIG_KEY,
        JOB_QUEUE_URL: jobQueueUrl,
        SCHEDULE_PERIOD_SECONDS: '300',
        MESSAGE_BUCKET: env.aws.bucket,
        KEY_PREFIX,
        NOTIFICATION_QUEUE_URL: env.aws.queueUrl,
        JOB_MAX_RECEIVE_COUNT: '5',
        METRICS_NAMESPACE: 'MailboxPoller',
        POWERTOOLS_SERVICE_NAME: 'fleet-bench',
      };
      await dispatch(bundles.lambdas.get('dispatch')!, functionEnv);
      log(`bench:    fleet: ${users.length} jobs queued, ${plan.workers} workers, batch size ${batchSize}`);
      const healthBefore = await listHealthRecords(env.fauxqs.s3, env.aws.bucket, KEY_PREFIX);
      const started = performance.now();
      const outputs = await Promise.all(
        Array.from({ length: plan.workers }, () =>
          run(process.execPath, [bundles.fleetWorker, bundles.lambdas.get('poll')!, String(batchSize)], {
            env: { ...process.env, ...functionEnv },
            maxBuffer: 64 * 1024 * 1024,
          }),
        ),
      );
      const wallSeconds = (performance.now() - started) / 1000;
      const health = healthWrites(
        healthBefore,
        await listHealthRecords(env.fauxqs.s3, env.aws.bucket, KEY_PREFIX),
      );
      runs.push({
        ...summarize(
          batchSize,
          wallSeconds,
          messages,
          plan,
          outputs.map((o) => parseWorker(o.stdout)),
        ),
        healthRecords: health.records,
        healthWrites: health.written,
      });
      log(`bench:    fleet: batch size ${batchSize} took ${wallSeconds.toFixed(1)} s`);
    }
    return { plan, load: loadAverage(), runs };
  } finally {
    proxy.stop();
    await secrets.close();
  }
}

/** Seeds every mailbox afresh; returns how many messages were seeded. */
async function seed(env: BenchEnvironment, users: readonly string[], plan: FleetPlan): Promise<number> {
  let total = 0;
  for (const [index, user] of users.entries()) {
    await env.dovecot.clear(user);
    const count = messagesFor(index, plan);
    if (count === 0) continue;
    total += count;
    await env.dovecot.seed(
      user,
      Array.from({ length: count }, (_, n) => {
        const head = `Message-ID: <${user}-${n}-${randomBytes(4).toString('hex')}@fleet>\r\nSubject: ${n}\r\n\r\n`;
        return Buffer.concat([
          Buffer.from(head),
          Buffer.alloc(plan.messageBytes - head.length, 'fleet mail\r\n'),
        ]);
      }),
    );
  }
  return total;
}

/** The dispatch handler in a fresh process with the function's environment, as the schedule invokes it. */
async function dispatch(bundle: string, functionEnv: Record<string, string>): Promise<void> {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const r = await m.handler({ scheduledTime: new Date().toISOString() }, { getRemainingTimeInMillis: () => 60000, functionName: 'dispatch', awsRequestId: 'fleet' });
process.stderr.write(JSON.stringify(r) + '\\n');`;
  await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...functionEnv },
  });
}

interface WorkerOutput {
  readonly init: { ms: number; cpuMs: number };
  readonly invocations: {
    records: number;
    wallMs: number;
    cpuMs: number;
    failures: number;
    logBytes: number;
    logLines: number;
  }[];
  readonly runs: { mailboxId: string; durationMs: number; messages: number; status: string }[];
}

function parseWorker(stdout: string): WorkerOutput {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as WorkerOutput;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summarize(
  batchSize: number,
  wallSeconds: number,
  seeded: number,
  plan: FleetPlan,
  workers: readonly WorkerOutput[],
): FleetRun {
  const runs = workers.flatMap((w) => w.runs);
  const invocations = workers.flatMap((w) => w.invocations);
  const empty = runs.filter((r) => r.messages === 0 && r.status === 'ok').map((r) => r.durationMs);
  const nonEmpty = runs.filter((r) => r.messages > 0).map((r) => r.durationMs);
  const messages = runs.reduce((sum, r) => sum + r.messages, 0);
  const cpu = invocations.reduce((sum, i) => sum + i.cpuMs, 0);
  // Invocations in job order: which ones polled only empty mailboxes is known per worker by run count.
  const emptyInvocationCpu: number[] = [];
  const emptyInvocationLog = { bytes: 0, lines: 0, runs: 0 };
  for (const worker of workers) {
    let next = 0;
    for (const invocation of worker.invocations) {
      const its = worker.runs.slice(next, next + invocation.records);
      next += invocation.records;
      if (its.length === invocation.records && its.every((r) => r.messages === 0)) {
        emptyInvocationCpu.push(invocation.cpuMs / invocation.records);
        emptyInvocationLog.bytes += invocation.logBytes;
        emptyInvocationLog.lines += invocation.logLines;
        emptyInvocationLog.runs += invocation.records;
      }
    }
  }
  const logBytes = invocations.reduce((sum, i) => sum + i.logBytes, 0);
  const cpuPerEmpty = median(emptyInvocationCpu);
  const overhead = workers.flatMap((worker) => {
    let next = 0;
    return worker.invocations.map((invocation) => {
      const its = worker.runs.slice(next, next + invocation.records);
      next += invocation.records;
      return invocation.wallMs - Math.max(0, ...its.map((r) => r.durationMs));
    });
  });
  return {
    batchSize,
    wallSeconds,
    invocations: invocations.length,
    meanInvocationSeconds: invocations.reduce((sum, i) => sum + i.wallMs, 0) / invocations.length / 1000,
    mailboxesPerInvocation: runs.length / invocations.length,
    mailboxesPerSecondPerWorker: runs.length / wallSeconds / plan.workers,
    messagesPerSecond: messages / wallSeconds,
    emptyMs: { p50: percentile(empty, 50), p99: percentile(empty, 99), count: empty.length },
    nonEmptyMs: { p50: percentile(nonEmpty, 50), p99: percentile(nonEmpty, 99), count: nonEmpty.length },
    invocationOverheadMs: median(overhead),
    cpuMsPerMailbox: cpu / runs.length,
    cpuMsPerEmptyMailbox: cpuPerEmpty,
    cpuMsPerMessage: messages === 0 ? Number.NaN : (cpu - empty.length * cpuPerEmpty) / messages,
    initMs: median(workers.map((w) => w.init.ms)),
    messages: seeded,
    failedPolls: runs.filter((r) => r.status !== 'ok').length,
    logBytesPerMailbox: logBytes / runs.length,
    logBytesPerEmptyMailbox: emptyInvocationLog.bytes / emptyInvocationLog.runs,
    logLinesPerEmptyMailbox: emptyInvocationLog.lines / emptyInvocationLog.runs,
  };
}
