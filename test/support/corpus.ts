/**
 * The shared mail corpus (real third-party messages, see MANIFEST.txt there). It lives outside the
 * repository, next to it; MAIL_CORPUS points elsewhere. Message bytes are verified against the manifest's
 * SHA-256 so a damaged copy fails loudly instead of producing puzzling byte-comparison failures.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const corpusDir: string = process.env.MAIL_CORPUS ?? path.resolve(repoRoot, '../shared/corpus');

export interface CorpusMessage {
  name: string;
  bytes: Buffer;
  /** The manifest's features/notes column, e.g. `LF;mbox-From_-first-line`; '' when not listed. */
  features: string;
}

const MANIFEST = 'MANIFEST.txt';

interface ManifestEntry {
  sha256: string;
  features: string;
}

function readManifest(): Map<string, ManifestEntry> {
  const entries = new Map<string, ManifestEntry>();
  const file = path.join(corpusDir, MANIFEST);
  if (!fs.existsSync(file)) return entries;
  // Columns: corpus_file, source_repo, commit, original_path, license, bytes, sha256, features/notes
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const columns = line.split('\t');
    const name = columns[0];
    if (name !== undefined)
      entries.set(name, { sha256: columns[6] ?? '', features: columns[7]?.trim() ?? '' });
  }
  return entries;
}

export function corpusAvailable(): boolean {
  try {
    return fs.readdirSync(corpusDir).some((name) => name.endsWith('.eml'));
  } catch {
    return false;
  }
}

let cached: CorpusMessage[] | undefined;

/** All .eml files, sorted by name. Throws when the corpus is missing or a file differs from the manifest. */
export function loadCorpus(): CorpusMessage[] {
  if (cached) return cached;
  if (!corpusAvailable())
    throw new Error(`mail corpus missing at ${corpusDir} (set MAIL_CORPUS to its folder)`);
  const manifest = readManifest();
  const names = fs
    .readdirSync(corpusDir)
    .filter((name) => name.endsWith('.eml'))
    .sort();
  cached = names.map((name) => {
    const bytes = fs.readFileSync(path.join(corpusDir, name));
    const entry = manifest.get(name);
    if (entry?.sha256) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== entry.sha256)
        throw new Error(`corpus file ${name} does not match ${MANIFEST} (sha256 ${actual})`);
    }
    return { name, bytes, features: entry?.features ?? '' };
  });
  return cached;
}

/**
 * `describe` when the corpus is there. Without it: in CI a failing test (a missing corpus must not turn
 * into a green run), elsewhere the suite is skipped. Only the plain call form fails in CI; modifiers such
 * as `.each` behave like describe's.
 */
const inCi = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());

export const describeWithCorpus: typeof describe = corpusAvailable()
  ? describe
  : inCi
    ? (Object.assign((name: string | ((...args: never[]) => unknown)) => {
        describe(typeof name === 'string' ? name : name.name, () => {
          it(`corpus missing at ${corpusDir}`, () => {
            throw new Error(`mail corpus missing at ${corpusDir} (set MAIL_CORPUS to its folder)`);
          });
        });
      }, describe) as unknown as typeof describe)
    : (describe.skip as unknown as typeof describe);

/**
 * Converts bare LF line ends to CRLF, as an MTA does when it stores mail for a POP3 server. Bare CR is
 * left alone: it is not a line end to Dovecot (which only looks at LF), so the server sends it through
 * unchanged and the pipeline must store it unchanged. Existing CRLF pairs are kept as they are.
 */
export function toCrlf(bytes: Buffer): Buffer {
  let bareLf = 0;
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) bareLf++;
  if (bareLf === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + bareLf);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = byte;
  }
  return out;
}

/**
 * The bytes a POP3 server hands out for `bytes` stored as a message: CRLF line ends (toCrlf) and a final
 * CRLF. RFC 1939 section 3 ends a multi-line response with CRLF "." CRLF, so a message whose last line
 * has no line break gets one; no client can tell the difference, so tests compare against this form.
 */
export function pop3Form(bytes: Buffer): Buffer {
  const crlf = toCrlf(bytes);
  if (crlf.length === 0 || crlf.subarray(-2).equals(Buffer.from('\r\n'))) return crlf;
  return Buffer.concat([crlf, Buffer.from('\r\n')]);
}
