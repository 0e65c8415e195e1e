/**
 * Parts and the document as files, for `mailbox-poller parse` (lib/cli/parse.ts): `<outDir>/<key>`, with
 * the keys the S3 stage uses inside a message's parsed folder (`message.json`, `parts/<n>`). Written to a
 * temporary name, then renamed, so a file under its final name is always whole; a second parse of the same
 * message writes the same bytes again. Files 0600 and new folders 0700, as the CLI's other output: mail is
 * personal data (lib/adapters/private-files.ts).
 */
import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { makePrivateFolder, PRIVATE_FILE_MODE } from '../adapters/private-files.ts';
import type { PartSink } from './parse-message.ts';

export class LocalParsedStore implements PartSink {
  readonly #outDir: string;

  constructor(outDir: string) {
    this.#outDir = outDir;
  }

  async writePart(key: string, content: AsyncIterable<Buffer>): Promise<void> {
    await this.#write(key, content);
  }

  async writeDocument(key: string, json: string): Promise<string> {
    return this.#write(key, [Buffer.from(json, 'utf8')]);
  }

  /** Writes `key` durably; resolves with its path. */
  async #write(key: string, content: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<string> {
    const finalPath = path.join(this.#outDir, ...key.split('/'));
    await makePrivateFolder(path.dirname(finalPath));
    const tempPath = path.join(path.dirname(finalPath), `.${randomUUID()}.tmp`);
    const file = await open(tempPath, 'wx', PRIVATE_FILE_MODE);
    try {
      for await (const chunk of content) await file.write(chunk);
      await file.sync();
      await file.close();
      await rename(tempPath, finalPath);
      return finalPath;
    } catch (error) {
      await file.close().catch(() => {});
      await rm(tempPath, { force: true });
      throw error;
    }
  }
}
