/**
 * Runs one contender as a child process and measures it from spawn to exit: wall time, and through GNU
 * time (when installed) its CPU time and peak RSS (getrusage of the child and what it waited for).
 * Every child runs in its own process group, which is killed when the harness stops for any reason.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const GNU_TIME = '/usr/bin/time';
/** Output kept per stream, for error messages and the poller's --json report. */
const MAX_CAPTURED_CHARS = 4 * 1024 * 1024;

export interface ProcessRun {
  readonly wallMs: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** CPU seconds in user and kernel mode; undefined without GNU time. */
  readonly userSeconds: number | undefined;
  readonly systemSeconds: number | undefined;
  /** Peak resident set size in KiB; undefined without GNU time. */
  readonly maxRssKiB: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Exit codes that count as success (default [0]). */
  readonly okExitCodes?: readonly number[];
  /** Run as this user (numeric ids), for programs that refuse to deliver mail as root. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

const liveGroups = new Set<number>();

export const hasGnuTime = (): boolean => fs.existsSync(GNU_TIME);

/** Kills every child process group still running (on exit, Ctrl-C, or a failed scenario). */
export function killAllChildren(): void {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  liveGroups.clear();
}

export async function runMeasured(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessRun> {
  const usageFile = path.join(
    os.tmpdir(),
    `bench-usage-${process.pid}-${Math.random().toString(36).slice(2)}`,
  );
  const timed = hasGnuTime();
  const [file, argv] = timed
    ? [GNU_TIME, ['-f', '%U %S %M', '-o', usageFile, command, ...args]]
    : [command, [...args]];
  const started = performance.now();
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: true,
    ...options.user,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) liveGroups.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    if (stdout.length < MAX_CAPTURED_CHARS) stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < MAX_CAPTURED_CHARS) stderr += chunk.toString('utf8');
  });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), options.timeoutMs);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, sig) => resolve([code, sig]));
  });
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  if (child.pid !== undefined) liveGroups.delete(child.pid);
  const usage = timed ? readUsage(usageFile) : undefined;
  const result: ProcessRun = {
    wallMs,
    exitCode,
    signal,
    userSeconds: usage?.user,
    systemSeconds: usage?.system,
    maxRssKiB: usage?.maxRssKiB,
    stdout,
    stderr,
  };
  const ok = options.okExitCodes ?? [0];
  if (exitCode === null || !ok.includes(exitCode)) {
    const why = signal ? `signal ${signal}` : `exit ${exitCode}`;
    throw new Error(`${path.basename(command)} failed (${why}):\n${tail(stderr || stdout)}`);
  }
  return result;
}

export interface BackgroundProcess {
  /** The first line the process printed (how it reports its port). */
  readonly firstLine: string;
  stop(): void;
}

/** Starts a helper process that runs until stopped, once it has printed its first line. */
export async function startBackground(command: string, args: readonly string[]): Promise<BackgroundProcess> {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid;
  if (pid !== undefined) liveGroups.add(pid);
  const stop = () => {
    if (pid === undefined || !liveGroups.delete(pid)) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  try {
    const firstLine = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const end = text.indexOf('\n');
        if (end >= 0) resolve(text.slice(0, end).trim());
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`${path.basename(command)} exited (${code}) before it was ready`)),
      );
    });
    return { firstLine, stop };
  } catch (error) {
    stop();
    throw error;
  }
}

function readUsage(file: string): { user: number; system: number; maxRssKiB: number } | undefined {
  try {
    // GNU time puts "Command exited with non-zero status N" first when the command fails.
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    const [user, system, rss] = (lines.at(-1) ?? '').split(' ').map(Number);
    if (user === undefined || system === undefined || rss === undefined) return undefined;
    return { user, system, maxRssKiB: rss };
  } catch {
    return undefined;
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
