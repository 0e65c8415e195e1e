/**
 * Scenario 6: CPU per message on the S3 path alone (bench/children/s3-path.ts): the shipped S3 store and
 * SQS notifier in a child process against the emulator in this one, `repetitions` runs.
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
}

export async function runS3Path(
  env: BenchEnvironment,
  bundle: string,
  options: { messages: number; messageBytes: number; inFlight: number; repetitions: number },
): Promise<S3PathResult> {
  const cpu: number[] = [];
  const rates: number[] = [];
  for (let i = 0; i < options.repetitions; i++) {
    env.resetAws();
    const { stdout } = await run(
      process.execPath,
      [bundle, String(options.messages), String(options.messageBytes), String(options.inFlight)],
      {
        env: {
          ...process.env,
          ...env.aws.env,
          BENCH_BUCKET: env.aws.bucket,
          BENCH_QUEUE_URL: env.aws.queueUrl,
        },
        maxBuffer: 1024 * 1024,
      },
    );
    const line = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      wallMs: number;
      cpuUserMs: number;
      cpuSystemMs: number;
    };
    cpu.push((line.cpuUserMs + line.cpuSystemMs) / options.messages);
    rates.push(options.messages / (line.wallMs / 1000));
  }
  return {
    messages: options.messages,
    messageBytes: options.messageBytes,
    inFlight: options.inFlight,
    cpuMsPerMessage: summarize(cpu),
    messagesPerSecond: summarize(rates),
  };
}
