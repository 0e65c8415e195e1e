/**
 * `mailbox-poller parse FILE.eml [--out DIR]`: the parse stage of the construct (docs/parsed-mail.md) on
 * one local file, for users without AWS. Writes the same document (`DIR/message.json`) and the parts
 * (`DIR/parts/<n>`) the stage writes to S3; DIR defaults to the file's name with `.parsed` in place of
 * `.eml`, as the stage's folder sits beside the raw object.
 *
 * Exit status: 0 parsed, 1 the parser gave up on the message (the document is written, with the reason),
 * 2 usage error or a file that cannot be read or written.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { documentJson } from '../parsed/document.ts';
import { DOCUMENT_NAME } from '../parsed/keys.ts';
import { LocalParsedStore } from '../parsed/local-parsed-store.ts';
import { parseMessage } from '../parsed/parse-message.ts';
import { usageProblem } from './args.ts';
import type { CliIo } from './io.ts';
import { PARSE_USAGE } from './parse-usage.ts';
import { usageErrorText } from './usage-line.ts';

export async function parseMain(argv: readonly string[], io: CliIo): Promise<number> {
  let file: string;
  let outDir: string;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) throw new Error('name one FILE.eml to parse');
    file = positionals[0]!;
    outDir = values.out ?? `${file.replace(/\.eml$/i, '')}.parsed`;
  } catch (error) {
    io.stderr.write(usageErrorText('parse', usageProblem(error, PARSE_USAGE)));
    return 2;
  }
  try {
    const { size } = await stat(file);
    const sha256 = await sha256Of(file);
    const store = new LocalParsedStore(outDir);
    const document = await parseMessage({
      body: createReadStream(file),
      raw: { key: path.basename(file), size, sha256 },
      folder: '',
      sink: store,
    });
    const written = await store.writeDocument(DOCUMENT_NAME, documentJson(document));
    io.stdout.write(`${written}: ${document.status}, ${document.parts.length} part(s)\n`);
    if (document.failure) {
      io.stderr.write(`mailbox-poller: ${file}: ${document.failure.reason}: ${document.failure.detail}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    io.stderr.write(`mailbox-poller: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
