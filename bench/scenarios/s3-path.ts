/**
 * Scenario 6: CPU per message on the S3 path alone (bench/children/s3-path.ts): the shipped S3 store and
 * SQS notifier in a child process against the emulator in this one, `repetitions` runs, each followed by
 * one with clients on the SDK's defaults (the before/after of the request-path tuning, measured alike).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BenchEnvironment } from '../environment.ts';
import { type Summary, summarize } from '../stats.ts';

const run = promisify(execFile);

export interface S3PathResult {
  readonly messages: number;
  readonly messageBytes: number;
  readonly inFlight: number;
  /** CPU (user + system) of the child per message, ms. */
  readonly cpuMsPerMessage: Summary;
  readonly messagesPerSecond: Summary;
  /** The same with clients on the SDK's defaults; absent in results saved before it was measured. */
  readonly sdkDefaults?: { readonly cpuMsPerMessage: Summary; readonly messagesPerSecond: Summary };
}

type ClientsVariant = 'shipped' | 'sdk-defaults';

export async function runS3Path(
  env: BenchEnvironment,
  bundle: string,
  options: { messages: number; messageBytes: number; inFlight: number; repetitions: number },
): Promise<S3PathResult> {
  const samples = {
    shipped: { cpu: [] as number[], rates: [] as number[] },
    'sdk-defaults': { cpu: [] as number[], rates: [] as number[] },
  };
  for (let i = 0; i < options.repetitions; i++) {
    for (const variant of ['shipped', 'sdk-defaults'] as const) {
      const line = await runOnce(env, bundle, options, variant);
      samples[variant].cpu.push((line.cpuUserMs + line.cpuSystemMs) / options.messages);
      samples[variant].rates.push(options.messages / (line.wallMs / 1000));
    }
  }
  const defaults = samples['sdk-defaults'];
  return {
    messages: options.messages,
    messageBytes: options.messageBytes,
    inFlight: options.inFlight,
    cpuMsPerMessage: summarize(samples.shipped.cpu),
    messagesPerSecond: summarize(samples.shipped.rates),
    sdkDefaults: { cpuMsPerMessage: summarize(defaults.cpu), messagesPerSecond: summarize(defaults.rates) },
  };
}

async function runOnce(
  env: BenchEnvironment,
  bundle: string,
  options: { messages: number; messageBytes: number; inFlight: number },
  variant: ClientsVariant,
): Promise<{ wallMs: number; cpuUserMs: number; cpuSystemMs: number }> {
  env.resetAws();
  const args = [options.messages, options.messageBytes, options.inFlight].map(String);
  const { stdout } = await run(process.execPath, [bundle, ...args, variant], {
    env: { ...process.env, ...env.aws.env, BENCH_BUCKET: env.aws.bucket, BENCH_QUEUE_URL: env.aws.queueUrl },
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    wallMs: number;
    cpuUserMs: number;
    cpuSystemMs: number;
  };
}
