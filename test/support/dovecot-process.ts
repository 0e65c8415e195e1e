/**
 * Dovecot as a child process: started in the foreground in its own process group, stopped with that
 * group, and never outliving the test process, however that process ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DOVECOT_BINARY = '/usr/sbin/dovecot';
export const DIR_PREFIX = 'dovecot-harness-';
/**
 * The exit hook below cannot run when the test process is killed by a signal. setpriv (util-linux) has
 * the kernel send Dovecot SIGTERM when we die, and Dovecot's master then stops its children.
 */
const SETPRIV = '/usr/bin/setpriv';
const STOP_TIMEOUT_MS = 5_000;
/** Younger directories may belong to an instance that is still starting (no master.pid yet). */
const STALE_AFTER_MS = 10 * 60_000;

/** Running instances and their directories, for the exit hook. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Starts `dovecot -F` with the dovecot.conf in `dir`; its stderr is appended to dir/dovecot.log. */
export function launchDovecot(dir: string): ChildProcess {
  installExitHook();
  const dovecot = [DOVECOT_BINARY, '-F', '-c', path.join(dir, 'dovecot.conf')];
  const [command, ...args] = fs.existsSync(SETPRIV)
    ? [SETPRIV, '--pdeathsig', 'TERM', '--', ...dovecot]
    : dovecot;
  const child = spawn(command!, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  // Configuration errors go to stderr before the log file exists; keep them next to the log.
  child.stderr?.on('data', (chunk: Buffer) => fs.appendFileSync(path.join(dir, 'dovecot.log'), chunk));
  child.unref();
  live.set(child, dir);
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM to the whole process group, SIGKILL if it does not go within STOP_TIMEOUT_MS. */
export async function terminateDovecot(child: ChildProcess): Promise<void> {
  if (!hasExited(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  // The master is gone; make sure none of its children outlive it.
  killGroup(child, 'SIGKILL', true);
  live.delete(child);
}

/** Deletes directories left by test processes that were killed before they could clean up. */
export function removeStaleInstances(): void {
  for (const name of fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(DIR_PREFIX))) {
    const dir = path.join(os.tmpdir(), name);
    try {
      if (Date.now() - fs.statSync(dir).mtimeMs < STALE_AFTER_MS) continue;
      const pid = Number(readFileOrEmpty(path.join(dir, 'run', 'master.pid')).trim());
      if (pid > 0 && processAlive(pid)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another process is cleaning up the same directory.
    }
  }
}

export function readFileOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, dir] of live) {
      killGroup(child, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals, evenAfterExit = false): void {
  if (child.pid === undefined || (hasExited(child) && !evenAfterExit)) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
