/**
 * One CLI run at a time per mailbox. Two runs draining the same account at once each retrieve, store and
 * notify the same messages before either deletes them (two overlapping runs once produced 278
 * notifications for 186 messages), so a run holds a lock file per mailbox while it polls it.
 *
 * The lock is per server ACCOUNT, not per configuration or destination: its name is a hash of host, port
 * and username, in one folder for every run on this machine ($MAILBOX_POLLER_LOCK_DIR, default
 * <tmpdir>/mailbox-poller-locks). Two configurations, or one run to S3 and one to a local folder, that
 * name the same account still exclude each other.
 *
 * Taking it is `open(path, 'wx')`: atomic on local file systems. The file holds the holder's pid and host
 * name; a lock whose process is gone (same host, pid not alive) is stale and taken over. Only the holder
 * of `<lock>.break` (also 'wx') may remove a stale lock, and only after reading it again, so two runs
 * that both find it stale cannot both remove it and both go on. The lock is removed when the mailbox is
 * done, and on any exit of the process that runs its 'exit' handlers.
 */
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { chmod, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly mailboxId: string;
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

const held = new Set<string>();
let exitHandlerInstalled = false;

export function defaultLockDir(env: NodeJS.ProcessEnv): string {
  const configured = env.MAILBOX_POLLER_LOCK_DIR;
  return configured !== undefined && configured !== ''
    ? configured
    : path.join(os.tmpdir(), 'mailbox-poller-locks');
}

/** The lock file of an account: the same for every run that polls it, whatever its mailbox id. */
export function lockPath(dir: string, account: MailboxAccount): string {
  const identity = `${account.host.toLowerCase()}\n${account.port}\n${account.username}`;
  return path.join(dir, `${createHash('sha256').update(identity).digest('hex').slice(0, 32)}.lock`);
}

/** How long a lock file may stay unwritten (created, holder not yet in it) before it counts as unreadable. */
const HOLDER_WRITE_GRACE_MS = 500;

/** Takes the account's lock, waiting up to `waitMs` for another run to release it. */
export async function lockMailbox(
  dir: string,
  account: MailboxAccount,
  waitMs: number,
): Promise<LockAttempt> {
  await ensureLockDir(dir);
  const file = lockPath(dir, account);
  const giveUpAt = Date.now() + waitMs;
  // A lock file is created empty and written a moment later: give its holder that moment, so the message
  // can name it, even when we do not wait for the lock itself.
  const holderWrittenBy = Date.now() + HOLDER_WRITE_GRACE_MS;
  for (;;) {
    if (await tryCreate(file, account.id)) return { acquired: true, release: () => release(file) };
    const holder = await readHolder(file);
    if (holder !== 'gone' && holder !== undefined && isStale(holder)) {
      await removeStale(file, holder);
      continue;
    }
    if (holder === 'gone') continue;
    if (holder === undefined && Date.now() < holderWrittenBy) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      continue;
    }
    if (Date.now() >= giveUpAt) return { acquired: false, holder };
    await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_EVERY_MS, giveUpAt - Date.now())));
  }
}

async function tryCreate(file: string, mailboxId: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // Readable by all: it holds only a pid and a host name, and a run of another user must read it.
    handle = await open(file, 'wx', 0o644);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') return false;
    throw error;
  }
  held.add(file);
  installExitHandler();
  const holder: LockHolder = {
    pid: process.pid,
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    mailboxId,
  };
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Runs of several users on one machine share the folder, as they share /tmp: a folder we create is
 * world-writable with the sticky bit, so each can add its locks and remove only its own.
 */
async function ensureLockDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created !== undefined) await chmod(dir, 0o1777).catch(() => undefined);
}

async function release(file: string): Promise<void> {
  held.delete(file);
  await unlink(file).catch(() => undefined);
}

/** 'gone' when the file disappeared meanwhile; undefined when it cannot be read as ours (being written). */
async function readHolder(file: string): Promise<LockHolder | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.hostname === 'string'
      ? (parsed as LockHolder)
      : undefined;
  } catch {
    return undefined; // The holder is between creating and writing it.
  }
}

/** Only a lock of this host can be judged: a pid on another host (shared folder) says nothing here. */
function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== os.hostname()) return false;
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
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    const age = Date.now() - (await stat(breaker).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > STALE_BREAK_MS) await unlink(breaker).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, RETRY_EVERY_MS));
    return;
  }
  try {
    const now = await readHolder(file);
    if (now !== 'gone' && now !== undefined && now.pid === seen.pid && now.startedAt === seen.startedAt) {
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
      try {
        const holder = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
        if (holder.pid === process.pid) unlinkSync(file);
      } catch {
        // Already gone, or not ours: nothing to remove.
      }
    }
  });
}
