/**
 * An OAuth2 credential document in a local file (the CLI's counterpart of a Secrets Manager secret).
 * A rotated refresh token replaces the file atomically: written to a temporary file beside it, flushed,
 * renamed over it. A crash leaves either the old document or the new one, never half of each.
 *
 * The write-back is conditional (lib/oauth/write-back.ts): the file's version is its mtime and content,
 * compared again right before the rename, after the slow part (write and flush) is done. POSIX has no
 * compare-and-rename, so compare and rename happen under `<file>.write-lock` (created with O_EXCL, held
 * for milliseconds), which every write here takes (`oauth login` too): two conditional writers cannot both
 * pass the compare, and no write of ours lands between a compare and its rename. A writer that ignores it
 * (an editor) is not excluded; CLI runs of one mailbox also exclude each other by its lock
 * (lib/cli/mailbox-lock.ts).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** A file's content and the version (mtime) it was read at. */
export interface VersionedText {
  readonly text: string;
  readonly version: string;
}

/** Raised as a credentials problem (lib/pipeline/classify-failure.ts); names the file, never its content. */
class SecretFileError extends Error {
  override readonly name = 'CredentialsError';
}

export async function readSecretFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SecretFileError(`secret file ${file} cannot be read (${codeOf(error)})`);
  }
}

/** The content and its version; the mtime is taken before and after the read, so a write between shows. */
export async function readSecretFileVersioned(file: string): Promise<VersionedText> {
  try {
    const before = await stat(file);
    const text = await readFile(file, 'utf8');
    const after = await stat(file);
    // Changed while we read: no version matches, so a conditional write of what we read will conflict.
    const version = before.mtimeMs === after.mtimeMs ? `mtime:${after.mtimeMs}` : 'changing';
    return { text, version };
  } catch (error) {
    throw new SecretFileError(`secret file ${file} cannot be read (${codeOf(error)})`);
  }
}

/**
 * Replaces the file with `text` only if it still is `expected` (same content, same mtime); `conflict`
 * otherwise, and the file is left as it is.
 */
export async function writeSecretFileIfUnchanged(
  file: string,
  text: string,
  expected: VersionedText,
): Promise<'written' | 'conflict'> {
  let result: 'written' | 'conflict' = 'written';
  await writeSecretFileAtomically(file, text, async () => {
    const current = await readSecretFileVersioned(file).catch(() => undefined);
    if (current?.text !== expected.text || current.version !== expected.version) result = 'conflict';
    return result === 'written';
  });
  return result;
}

/** How long a conditional writer waits for another to finish its compare and rename. */
const WRITE_LOCK_WAIT_MS = 5_000;
/** A write lock older than this belongs to a writer that died between compare and rename. */
const STALE_WRITE_LOCK_MS = 30_000;

async function takeWriteLock(file: string): Promise<() => Promise<void>> {
  const lock = `${file}.write-lock`;
  const giveUpAt = Date.now() + WRITE_LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      return () => unlink(lock).catch(() => undefined);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
    const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > STALE_WRITE_LOCK_MS) await unlink(lock).catch(() => undefined);
    else if (Date.now() > giveUpAt) throw new Error(`${lock} is held by another writer`);
    else await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function writeSecretFileAtomically(
  file: string,
  text: string,
  /** Asked after the temporary file is flushed; false leaves the file as it is. */
  stillWanted: () => Promise<boolean> = async () => true,
): Promise<void> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    // 0600: the document holds a refresh token and maybe a client secret.
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    // Every writer renames under the write lock, so a conditional writer's compare still holds at its rename.
    const release = await takeWriteLock(file);
    try {
      if (await stillWanted()) await rename(temporary, file);
      else await rm(temporary, { force: true });
    } finally {
      await release();
    }
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new SecretFileError(`secret file ${file} cannot be written (${codeOf(error)})`);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
