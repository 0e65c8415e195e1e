/**
 * One CLI run at a time per mailbox. Two runs draining the same account at once each retrieve, store and
 * notify the same messages before either deletes them (two overlapping runs once produced 278
 * notifications for 186 messages), so a run holds a lock file per mailbox while it polls it.
 *
 * The lock is per server ACCOUNT, not per configuration or destination: its name is a hash of host, port
 * and username, in one folder for every run of this user ($MAILBOX_POLLER_LOCK_DIR, default
 * $XDG_STATE_HOME/mailbox-poller/locks, that is ~/.local/state/mailbox-poller/locks). Two
 * configurations, or one run to S3 and one to a local folder, that name the same account still exclude
 * each other.
 *
 * The folder belongs to one user and only that user can write it (lib/cli/lock-files.ts checks it before
 * every use): in a folder shared by all, as /tmp is, any local user could plant a lock and stop a
 * mailbox for good, or plant a FIFO or a link to a device. Not $XDG_RUNTIME_DIR: it exists only while the
 * user has a login session, and cron does not set it, so a run from cron and one by hand would not see
 * each other's locks. Runs of different users do not exclude each other: poll an account as one user.
 *
 * Taking it is `open(path, O_CREAT | O_EXCL)`: atomic on local file systems. The file holds the holder's
 * pid, host name and (Linux) boot id; a lock whose process is gone (same host, and an earlier boot or a
 * pid not alive) is stale and taken over. Only the holder of `<lock>.break` (also exclusive) may remove a
 * stale lock, and only after reading it again, so two runs that both find it stale cannot both remove it
 * and both go on. The lock is removed when the mailbox is done, and on any exit of the process that runs
 * its 'exit' handlers.
 *
 * A lock held longer than LOCK_HELD_TOO_LONG_MS is not an overlap with another run any more: it throws a
 * MailboxLockError (the run fails, exit 1) instead of ending the mailbox as locked (exit 75), so a stuck
 * holder shows up where failures do (`systemctl --failed`, cron mail) instead of in every run's exit 75.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { lstat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createLockFile,
  ensurePrivateLockFolder,
  MailboxLockError,
  readLockFile,
  readOwnLockFileSync,
} from './lock-files.ts';

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly mailboxId: string;
  /** Linux: the kernel's id of the boot the holder ran in; absent elsewhere and in older lock files. */
  readonly bootId?: string;
}

export type LockAttempt =
  | { readonly acquired: true; release(): Promise<void> }
  | { readonly acquired: false; readonly holder: LockHolder | undefined };

export interface MailboxAccount {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

/** How often a waiting run looks again. */
const RETRY_EVERY_MS = 250;
/** A `.break` file older than this belonged to a run that died while removing a stale lock. */
const STALE_BREAK_MS = 30_000;
/**
 * A lock held this long has a stuck holder, or one that is no mailbox-poller run at all (a pid reused
 * after the holder was killed without its exit handlers, by SIGKILL say). The systemd unit and the cron
 * line in docs/running.md end every run within 240 s (--timeout) and start one every 5 minutes; an hour
 * is a dozen of their runs, and more than draining a large backlog by hand takes.
 */
export const LOCK_HELD_TOO_LONG_MS = 60 * 60 * 1000;

/**
 * Linux gives every boot a random id. It tells a lock of an earlier boot from a live one without
 * comparing clocks: a clock stepped after boot (NTP on a machine without a battery-backed clock) would
 * make a boot-time comparison take a live lock for stale, and two runs would then poll one mailbox.
 */
const bootId = readBootId();

function readBootId(): string | undefined {
  try {
    const id = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

const held = new Set<string>();
let exitHandlerInstalled = false;

export function defaultLockDir(env: NodeJS.ProcessEnv): string {
  const configured = env.MAILBOX_POLLER_LOCK_DIR;
  if (configured !== undefined && configured !== '') return configured;
  // XDG Base Directory: a relative XDG_STATE_HOME is invalid and must be ignored.
  const stateHome = env.XDG_STATE_HOME;
  const stateDir =
    stateHome !== undefined && path.isAbsolute(stateHome)
      ? stateHome
      : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(stateDir, 'mailbox-poller', 'locks');
}

/** The lock file of an account: the same for every run that polls it, whatever its mailbox id. */
export function lockPath(dir: string, account: MailboxAccount): string {
  const identity = `${account.host.toLowerCase()}\n${account.port}\n${account.username}`;
  return path.join(dir, `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.lock`);
}

/** How long a lock file may stay unwritten (created, holder not yet in it) before it counts as unreadable. */
const HOLDER_WRITE_GRACE_MS = 500;

/**
 * Takes the account's lock, waiting up to `waitMs` for another run to release it. Throws a
 * MailboxLockError when the folder or the lock file cannot be trusted, or the lock is held too long.
 */
export async function lockMailbox(
  dir: string,
  account: MailboxAccount,
  waitMs: number,
): Promise<LockAttempt> {
  await ensurePrivateLockFolder(dir);
  const file = lockPath(dir, account);
  const giveUpAt = Date.now() + waitMs;
  // A lock file is created empty and written a moment later: give its holder that moment, so the message
  // can name it, even when we do not wait for the lock itself.
  const holderWrittenBy = Date.now() + HOLDER_WRITE_GRACE_MS;
  for (;;) {
    if (await tryCreate(file, account.id)) return { acquired: true, release: () => release(file) };
    const found = await readHolder(file);
    if (found === 'gone') continue;
    const { holder } = found;
    if (holder !== undefined && isStale(holder)) {
      await removeStale(file, holder);
      continue;
    }
    if (holder === undefined && Date.now() < holderWrittenBy) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (Date.now() >= giveUpAt) {
      throwIfHeldTooLong(file, found);
      return { acquired: false, holder };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_EVERY_MS, giveUpAt - Date.now())));
  }
}

async function tryCreate(file: string, mailboxId: string): Promise<boolean> {
  const handle = await createLockFile(file);
  if (handle === undefined) return false;
  held.add(file);
  installExitHandler();
  const holder: LockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    mailboxId,
    ...(bootId === undefined ? {} : { bootId }),
  };
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

async function release(file: string): Promise<void> {
  held.delete(file);
  await unlink(file).catch(() => undefined);
}

interface FoundLock {
  /** undefined when the file cannot be read as a holder (being written, or left half-written). */
  readonly holder: LockHolder | undefined;
  readonly mtimeMs: number;
}

/** 'gone' when the file disappeared meanwhile. */
async function readHolder(file: string): Promise<FoundLock | 'gone'> {
  const content = await readLockFile(file);
  if (content === 'gone') return 'gone';
  return { holder: parseHolder(content.text), mtimeMs: content.mtimeMs };
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder> | null;
    return typeof parsed?.pid === 'number' && typeof parsed.hostname === 'string'
      ? (parsed as LockHolder)
      : undefined;
  } catch {
    return undefined; // The holder is between creating and writing it.
  }
}

function throwIfHeldTooLong(file: string, found: FoundLock): void {
  const startedAt = Date.parse(found.holder?.startedAt ?? '');
  const since = Number.isNaN(startedAt) ? found.mtimeMs : startedAt;
  const heldMs = Date.now() - since;
  if (heldMs <= LOCK_HELD_TOO_LONG_MS) return;
  const who =
    found.holder === undefined
      ? 'a run that never wrote its pid into it'
      : `pid ${found.holder.pid} on ${found.holder.hostname}`;
  throw new MailboxLockError(
    `the lock ${file} has been held by ${who} since ${new Date(since).toISOString()} ` +
      `(${Math.floor(heldMs / 60_000)} minutes), longer than any run takes: if that process is stuck or ` +
      'is not a mailbox-poller run, end it or remove the lock file; the mailbox is not polled until then',
  );
}

/** Only a lock of this host can be judged: a pid on another host (shared folder) says nothing here. */
function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return false;
  // Written before the machine last started: its process is gone, whoever has that pid now. Locks live in
  // a folder that outlasts a reboot, and pids are handed out again from the start after one.
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: unknown }).code === 'ESRCH';
  }
}

async function removeStale(file: string, seen: LockHolder): Promise<void> {
  const breaker = `${file}.break`;
  const breaking = await createLockFile(breaker);
  if (breaking === undefined) {
    const age = Date.now() - (await lstat(breaker).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > STALE_BREAK_MS) await unlink(breaker).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    return;
  }
  await breaking.close();
  try {
    const now = await readHolder(file);
    const holder = now === 'gone' ? undefined : now.holder;
    if (holder !== undefined && holder.pid === seen.pid && holder.startedAt === seen.startedAt) {
      await unlink(file).catch(() => undefined);
    }
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** A run that ends while holding a lock (an error, process.exit) leaves none behind. */
function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const file of held) {
      const text = readOwnLockFileSync(file);
      // Already gone, or not ours: nothing to remove.
      if (text === undefined || parseHolder(text)?.pid !== process.pid) continue;
      try {
        unlinkSync(file);
      } catch {
        // Removed meanwhile.
      }
    }
  });
}
