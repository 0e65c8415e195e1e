/**
 * MailboxStateStore for the CLI: the file `<outDir>/<keyPrefix>.state/<mailboxId>.jsonl.gz` (the same
 * name the S3 store uses as a key; lib/adapters/mailbox-state-codec.ts for the bytes).
 *
 * A save writes a temporary file beside it, fsyncs it, renames it over the old one and fsyncs the folder,
 * so the file is always either the old or the new state, whole. The version is the save counter in the
 * file's header: a save names the counter it loaded, and is refused (StateConflictError) when the file's
 * counter moved on, or when a file appeared where there was none. The check and the rename happen under
 * an exclusive lock file (`open(..., 'wx')`), so two CLI processes polling the same mailbox into the
 * same folder cannot both pass the check. A save holds the lock for about a second; a lock older than
 * STALE_LOCK_MS was left by a killed process and is removed (once) rather than blocking the mailbox forever.
 * Files are created 0600 and folders 0700 (lib/adapters/private-files.ts).
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  type MailboxState,
  type MailboxStateStore,
  StateConflictError,
  type VersionedState,
} from '../ports.ts';
import { decodeState, encodeState } from './mailbox-state-codec.ts';
import { makePrivateFolder, PRIVATE_FILE_MODE } from './private-files.ts';

export interface LocalStateStoreOptions {
  readonly outDir: string;
  /** As for the message store (default ''). */
  readonly keyPrefix?: string;
}

/** Key (relative path) of a mailbox's state: under a prefix no message key can have (ids start alphanumeric). */
export function stateKeyFor(keyPrefix: string, mailboxId: string): string {
  return `${keyPrefix}.state/${mailboxId}.jsonl.gz`;
}

/** A lock file this old was left by a process that died while saving (a save takes about a second). */
export const STALE_LOCK_MS = 10 * 60 * 1000;

export class LocalStateStore implements MailboxStateStore {
  readonly #outDir: string;
  readonly #prefix: string;

  constructor(options: LocalStateStoreOptions) {
    this.#outDir = options.outDir;
    this.#prefix = options.keyPrefix ?? '';
  }

  async load(mailboxId: string): Promise<VersionedState | undefined> {
    const file = this.#fileOf(mailboxId);
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (bytes === undefined) return undefined;
    const { state, counter } = decodeState(mailboxId, bytes);
    return { state, version: String(counter) };
  }

  async save(mailboxId: string, state: MailboxState, expectedVersion: string | undefined): Promise<string> {
    const file = this.#fileOf(mailboxId);
    const folder = path.dirname(file);
    await makePrivateFolder(folder);
    const lock = await this.#lock(mailboxId, `${file}.lock`);
    try {
      const current = await this.load(mailboxId);
      if (current?.version !== expectedVersion) {
        throw new StateConflictError(
          `the state of mailbox ${mailboxId} changed since this run loaded it (expected ${expectedVersion ?? 'none'}, found ${current?.version ?? 'none'}); another poller ran`,
        );
      }
      const counter = (current === undefined ? 0 : Number(current.version)) + 1;
      const temp = path.join(folder, `.${randomUUID()}.tmp`);
      const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
      try {
        await handle.writeFile(encodeState(mailboxId, state, counter));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file).catch(async (error) => {
        await rm(temp, { force: true });
        throw error;
      });
      const dir = await open(folder, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      return String(counter);
    } finally {
      await lock.close();
      await rm(`${file}.lock`, { force: true });
    }
  }

  async #lock(mailboxId: string, lockFile: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await open(lockFile, 'wx', PRIVATE_FILE_MODE);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await stat(lockFile).then(
          (found) => Date.now() - found.mtimeMs,
          () => 0,
        );
        if (attempt === 1 && age > STALE_LOCK_MS) {
          await rm(lockFile, { force: true });
          continue;
        }
        throw new StateConflictError(
          `the state of mailbox ${mailboxId} is being saved by another process (${lockFile} exists; remove it if no poller runs)`,
        );
      }
    }
  }

  #fileOf(mailboxId: string): string {
    return path.join(this.#outDir, ...stateKeyFor(this.#prefix, mailboxId).split('/'));
  }
}
