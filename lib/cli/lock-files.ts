/**
 * The file system side of the CLI's mailbox locks (lib/cli/mailbox-lock.ts), for a machine other users
 * share. Whoever can write in the lock folder can stop a mailbox from being polled (a planted lock file),
 * or make a run read without end (a symbolic link to /dev/zero) or wait without end (a FIFO). So:
 *
 *   - the folder is one only this user can write: created 0700, and before every use checked to be a
 *     real folder (not a symbolic link), owned by this user, not writable by group or others. Anything
 *     else is refused with a MailboxLockError that says what to change; the folder is never "repaired"
 *     here, since files others planted while it was open would stay behind;
 *   - a lock file is opened with O_NOFOLLOW (a symbolic link fails instead of being followed) and
 *     O_NONBLOCK (opening a FIFO returns at once instead of waiting for a writer), then checked by fstat on
 *     the open descriptor (no race with a rename): a regular file, owned by this user;
 *   - at most MAX_LOCK_FILE_BYTES are read from it.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { makePrivateFolder, PRIVATE_FILE_MODE } from '../adapters/private-files.ts';

/**
 * The lock folder or a lock file cannot be trusted: a person must act (the message says what). The
 * mailbox is not polled meanwhile, and the run fails (exit 1) rather than reporting "locked" (exit 75),
 * which schedulers are told to take as success.
 */
export class MailboxLockError extends Error {
  // Set explicitly: a bundler may rename the class, and the name is what a log shows.
  override readonly name = 'MailboxLockError';
}

/**
 * A lock file holds one JSON line of pid, host name, start time and mailbox id: about 150 bytes. 4 KiB
 * leaves room for a long host name or mailbox id; more than that is not a lock this program wrote.
 */
export const MAX_LOCK_FILE_BYTES = 4096;

// Absent on Windows, where neither symbolic links to devices nor FIFOs can be planted this way.
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
const NON_BLOCKING = constants.O_NONBLOCK ?? 0;
const READ_SAFELY = constants.O_RDONLY | NO_FOLLOW | NON_BLOCKING;
const CREATE_EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW;

/** The uid of this process; undefined where there are none (Windows): ownership is then not checked. */
function ownUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/** Creates the lock folder (0700) if it is missing, then refuses it unless only this user can write it. */
export async function ensurePrivateLockFolder(dir: string): Promise<void> {
  await makePrivateFolder(dir);
  const found = await lstat(dir);
  if (found.isSymbolicLink()) {
    throw new MailboxLockError(
      `the lock folder ${dir} is a symbolic link; whoever can change the link decides where locks go: ` +
        'set MAILBOX_POLLER_LOCK_DIR to the real folder',
    );
  }
  if (!found.isDirectory()) throw new MailboxLockError(`the lock folder ${dir} is not a folder`);
  const uid = ownUid();
  if (uid !== undefined && found.uid !== uid) {
    throw new MailboxLockError(
      `the lock folder ${dir} belongs to uid ${found.uid}, not to this user (uid ${uid}), who could ` +
        'plant or remove locks in it: run as its owner, or set MAILBOX_POLLER_LOCK_DIR to a folder of your own',
    );
  }
  if (uid !== undefined && (found.mode & 0o022) !== 0) {
    throw new MailboxLockError(
      `the lock folder ${dir} can be written by other users (mode ${modeOf(found)}), who could plant ` +
        `locks in it: chmod 0700 ${dir} and remove files in it that are not yours, or set ` +
        'MAILBOX_POLLER_LOCK_DIR to a folder of your own',
    );
  }
}

/** Creates `file` (0600) for writing; undefined when it exists already, as a file or anything else. */
export async function createLockFile(file: string): Promise<FileHandle | undefined> {
  try {
    // O_EXCL never follows a symbolic link: one at this name counts as an existing file.
    return await open(file, CREATE_EXCLUSIVE, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

export interface LockFileContent {
  readonly text: string;
  /** Last modification: when the holder wrote it. */
  readonly mtimeMs: number;
}

/** The text of a lock file, read without following links or blocking; 'gone' when it does not exist. */
export async function readLockFile(file: string): Promise<LockFileContent | 'gone'> {
  let handle: FileHandle;
  try {
    handle = await open(file, READ_SAFELY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'gone';
    // ELOOP on Linux and macOS, EMLINK on FreeBSD: a symbolic link where O_NOFOLLOW allows none.
    if (code === 'ELOOP' || code === 'EMLINK') throw unsafeLockFile(file, 'is a symbolic link');
    throw error;
  }
  try {
    const stats = await handle.stat();
    const problem = problemOf(stats);
    if (problem !== undefined) throw unsafeLockFile(file, problem);
    const buffer = Buffer.alloc(MAX_LOCK_FILE_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, MAX_LOCK_FILE_BYTES, 0);
    return { text: buffer.toString('utf8', 0, bytesRead), mtimeMs: stats.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** For 'exit' handlers, which cannot wait: the text of a lock file of ours, or undefined. Never throws. */
export function readOwnLockFileSync(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, READ_SAFELY);
  } catch {
    return undefined;
  }
  try {
    if (problemOf(fstatSync(fd)) !== undefined) return undefined;
    const buffer = Buffer.alloc(MAX_LOCK_FILE_BYTES);
    return buffer.toString('utf8', 0, readSync(fd, buffer, 0, MAX_LOCK_FILE_BYTES, 0));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function problemOf(stats: Stats): string | undefined {
  if (!stats.isFile()) return `is not a regular file (${kindOf(stats)})`;
  const uid = ownUid();
  if (uid !== undefined && stats.uid !== uid) {
    return `belongs to uid ${stats.uid}, not to this user (uid ${uid}); this program did not write it`;
  }
  return undefined;
}

function unsafeLockFile(file: string, problem: string): MailboxLockError {
  return new MailboxLockError(
    `the lock file ${file} ${problem}: it was not left by a run of this user. Remove it once you know ` +
      'who put it there; until then the mailbox is not polled',
  );
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  if (stats.isDirectory()) return 'a folder';
  return 'not a file';
}

function modeOf(stats: Stats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}
