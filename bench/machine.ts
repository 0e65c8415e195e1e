/**
 * What the numbers were measured on, and a quiet enough moment to measure: the machine is shared, so the
 * harness waits for the load average to come down before measuring, and records it either way.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { DOVECOT_BINARY } from '../test/support/dovecot.ts';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly dovecot: string;
  readonly fetchmail: string | undefined;
  readonly getmail: string | undefined;
}

/** Above this 1-minute load average the 2-core machine is busy with someone else's work. */
export const QUIET_LOAD = 1.5;
const LOAD_POLL_MS = 30_000;
const LOAD_WAIT_LIMIT_MS = 10 * 60_000;

export function describeMachine(): MachineInfo {
  const cpuinfo = readOr('/proc/cpuinfo', '');
  return {
    cpus: os.availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    dovecot: versionOf(DOVECOT_BINARY, ['--version']) ?? 'not installed',
    fetchmail: versionOf('fetchmail', ['--version'])?.match(/release (\d[\d.]*)/)?.[1],
    getmail: versionOf('getmail', ['--version'])?.replace(/^getmail\s*/, ''),
  };
}

export const loadAverage = (): [number, number, number] => os.loadavg() as [number, number, number];

/**
 * Resolves once the 1-minute load average is at most QUIET_LOAD, polling every 30 s for up to 10
 * minutes; resolves anyway after that. Returns the seconds waited.
 */
export async function waitForQuiet(log: (line: string) => void): Promise<number> {
  const started = Date.now();
  while (loadAverage()[0] > QUIET_LOAD && Date.now() - started < LOAD_WAIT_LIMIT_MS) {
    log(
      `  load average ${loadAverage()[0].toFixed(2)} > ${QUIET_LOAD}: waiting 30 s for the machine to calm down`,
    );
    await new Promise((resolve) => setTimeout(resolve, LOAD_POLL_MS));
  }
  return Math.round((Date.now() - started) / 1000);
}

function versionOf(command: string, args: string[]): string | undefined {
  try {
    // Some tools print their version and still exit non-zero; the first line is what counts.
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return output.split('\n')[0]?.trim();
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout;
    return stdout ? stdout.split('\n')[0]?.trim() : undefined;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}
