/**
 * MailboxHealthStore for the CLI: the file `<outDir>/<keyPrefix>.health/<mailboxId>.json`, the same name
 * the S3 store uses as a key, beside the keep-mode state files.
 *
 * A save writes a temporary file, fsyncs it and renames it over the old one, so the file is always one
 * whole record. The version is the SHA-256 of the file's bytes: a save names the bytes it loaded and is
 * refused (StateConflictError) when the file changed since. CLI polls of one mailbox already run one at a
 * time (lib/cli/mailbox-lock.ts); the check guards against a `reset` landing between a run's read and
 * its write, which would otherwise be undone.
 */
import { createHash, randomUUID } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { decodeHealth, encodeHealth, type MailboxHealth, type VersionedHealth } from '../health/record.ts';
import { type MailboxHealthStore, StateConflictError } from '../ports.ts';
import { makePrivateFolder, PRIVATE_FILE_MODE } from './private-files.ts';
import { healthKeyFor, healthPrefixOf } from './s3-health-store.ts';

export interface LocalHealthStoreOptions {
  readonly outDir: string;
  /** As for the message store (default ''). */
  readonly keyPrefix?: string;
}

export class LocalHealthStore implements MailboxHealthStore {
  readonly #outDir: string;
  readonly #prefix: string;

  constructor(options: LocalHealthStoreOptions) {
    this.#outDir = options.outDir;
    this.#prefix = options.keyPrefix ?? '';
  }

  async load(mailboxId: string): Promise<VersionedHealth | undefined> {
    const bytes = await readIfThere(this.#fileOf(mailboxId));
    if (bytes === undefined) return undefined;
    return { health: decodeHealth(mailboxId, bytes), version: versionOf(bytes) };
  }

  async save(health: MailboxHealth, expectedVersion: string | undefined): Promise<string> {
    const file = this.#fileOf(health.mailboxId);
    const folder = path.dirname(file);
    await makePrivateFolder(folder);
    const current = await readIfThere(file);
    const found = current === undefined ? undefined : versionOf(current);
    if (found !== expectedVersion) {
      throw new StateConflictError(
        `the health record of ${health.mailboxId} (${file}) changed since this run read it`,
      );
    }
    const bytes = encodeHealth(health);
    const temp = path.join(folder, `.${randomUUID()}.tmp`);
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file).catch(async (error) => {
      await rm(temp, { force: true });
      throw error;
    });
    return versionOf(bytes);
  }

  async list(): Promise<MailboxHealth[]> {
    const folder = path.join(this.#outDir, ...healthPrefixOf(this.#prefix).split('/'));
    const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const records: MailboxHealth[] = [];
    for (const name of names.filter((entry) => entry.endsWith('.json') && !entry.startsWith('.')).sort()) {
      const loaded = await this.load(name.slice(0, -'.json'.length));
      if (loaded !== undefined) records.push(loaded.health);
    }
    return records;
  }

  #fileOf(mailboxId: string): string {
    return path.join(this.#outDir, ...healthKeyFor(this.#prefix, mailboxId).split('/'));
  }
}

function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readIfThere(file: string): Promise<Buffer | undefined> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}
