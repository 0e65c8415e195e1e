/**
 * MessageStore on the local file system, for running without AWS: each message becomes the file
 * `<outDir>/<key>` with the same keys as S3 (see docs/object-keys.md).
 *
 * The bytes go to a temporary file in the destination folder, are fsynced, and only then renamed to their
 * final name, so a file under a final name is always complete. The name holds the content hash, so an
 * existing file should be this very message from an earlier run: it is hashed to make sure, then
 * `created: false`, and it is left alone. A file that is another message (edited, replaced) fails the
 * put and is left as it is: the message is not committed.
 *
 * Files are 0600 and the folders this store creates 0700 (lib/adapters/private-files.ts): a message is
 * for its mailbox's owner, not for every user of the machine.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { MessageStore, MessageToStore, StoredMessage } from '../ports.ts';
import { HashingReader } from './hashing-reader.ts';
import { objectKeyFolderFor, objectKeyFor } from './object-key.ts';
import { makePrivateFolder, PRIVATE_FILE_MODE } from './private-files.ts';

export interface LocalMessageStoreOptions {
  readonly outDir: string;
  /** Prepended to every key, as for S3 (default ''). */
  readonly keyPrefix?: string;
}

export class LocalMessageStore implements MessageStore {
  readonly #outDir: string;
  readonly #prefix: string;

  constructor(options: LocalMessageStoreOptions) {
    this.#outDir = options.outDir;
    this.#prefix = options.keyPrefix ?? '';
  }

  async put(message: MessageToStore): Promise<StoredMessage> {
    // The folder depends only on mailbox and UIDL, so it is known before the hash is.
    const folder = this.#pathOf(objectKeyFolderFor(this.#prefix, message.mailboxId, message.uidl));
    await makePrivateFolder(folder);
    const tempPath = path.join(folder, `.${randomUUID()}.tmp`);
    const reader = new HashingReader(message.body);
    try {
      await writeDurably(tempPath, reader);
      const sha256 = reader.sha256Hex();
      const key = objectKeyFor(this.#prefix, message.mailboxId, message.uidl, sha256);
      const finalPath = this.#pathOf(key);
      const stored = { key, location: this.#outDir, sha256, size: reader.size };
      if (await exists(finalPath)) {
        await rm(tempPath, { force: true });
        const found = await sha256Of(finalPath);
        if (found !== sha256) {
          throw new Error(
            `${finalPath} already exists but is not this message (its bytes hash to ${found}); it was left ` +
              'as it is and the message stays on the server: move the file away, then the next run stores it',
          );
        }
        return { ...stored, created: false };
      }
      // Two runs racing here would both rename identical bytes onto the same name: harmless.
      await rename(tempPath, finalPath);
      await syncFolder(folder);
      return { ...stored, created: true };
    } catch (error) {
      reader.abandon();
      await rm(tempPath, { force: true });
      throw (
        reader.failure ??
        new Error(`storing a message under ${folder} failed: ${describe(error)}`, { cause: error })
      );
    }
  }

  #pathOf(key: string): string {
    return path.join(this.#outDir, ...key.split('/'));
  }
}

async function writeDurably(filePath: string, reader: HashingReader): Promise<void> {
  const file = await open(filePath, 'wx', PRIVATE_FILE_MODE);
  try {
    for (let chunk = await reader.next(); chunk !== undefined; chunk = await reader.next()) {
      // One write call may take fewer bytes than offered (a full disk reports its error on the next one).
      for (let offset = 0; offset < chunk.length; ) {
        offset += (await file.write(chunk, offset)).bytesWritten;
      }
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

async function sha256Of(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function exists(filePath: string): Promise<boolean> {
  try {
    await access(filePath, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** Makes the rename itself durable (the folder entry), where the platform allows syncing a folder. */
async function syncFolder(folder: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Windows cannot open or sync a folder; the file itself was already synced.
  } finally {
    await handle?.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
