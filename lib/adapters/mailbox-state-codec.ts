/**
 * The bytes of a keep-mode mailbox state (lib/pipeline/keep-mode.ts), shared by the S3 and local state
 * stores: gzip of JSON lines. The first line is a header naming the format, its version, the mailbox and a
 * save counter (the local store's version); then one line per message, an array
 * `[id, size, ingestedAt, sha256]`: the state id (the unique-id, or `sha256:` and its hash for one outside
 * RFC 1939, lib/pipeline/keep-state-id.ts), the LIST size, ingestedAt in ms since the epoch (or null for a
 * message recorded by `initial` without being ingested), and the SHA-256 of the stored bytes in hex, which
 * `deleteAfterDays` compares with the message on the server before DELE. States written before digests
 * have three elements: their messages are never deleted by `deleteAfterDays` (nothing proves they are the
 * ones stored). The version stays 1: a poller from before digests reads such a state, ignores the fourth
 * element and re-ingests (never skips) a message under a hashed id.
 *
 * Arrays, not objects, because a kept mailbox may hold 100,000 messages: a line is under 200 octets, and
 * gzip takes the repeated structure away (bench: `--scenario keep-state`). Sizes and times are integers
 * (safe integers, checked on load). JSON strings carry any id exactly, including 8-bit ones.
 *
 * Decoding is bounded (MAX_STATE_TEXT_OCTETS): a state larger than keep mode can ever write is refused
 * before it is expanded, rather than exhausting memory. Both directions work a line (or a chunk of lines)
 * at a time, never holding the whole text as one string or an array of its lines, which lowers a run's
 * peak memory at 100,000 entries (bench/notes.md, "Figures behind the design notes in the code").
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { KEEP_MODE_MAX_LISTING_ENTRIES } from '../pop3/limits.ts';
import { type KeptMessage, type MailboxState, StateTooLargeError } from '../ports.ts';

export const STATE_FORMAT = 'mailbox-poller.mailbox-state';
export const STATE_FORMAT_VERSION = 1;

interface StateHeader {
  readonly format: typeof STATE_FORMAT;
  readonly version: typeof STATE_FORMAT_VERSION;
  readonly mailboxId: string;
  /** Saves so far, counting this one. */
  readonly counter: number;
}

/**
 * Longest state line keep mode writes: a 71-character id that JSON doubles at most (`"` and `\\` are
 * escaped), the quotes, a size and a time of up to 16 digits each, a 64-digit hash and punctuation: 256
 * octets is over it. The header is far shorter.
 */
export const MAX_STATE_LINE_OCTETS = 256;

/**
 * The most a state expands to: one line per listed message, at most KEEP_MODE_MAX_LISTING_ENTRIES. 51 MB,
 * a tenth of the longest string V8 can hold (~512 MiB, where `Invalid string length` starts).
 */
export const MAX_STATE_TEXT_OCTETS = (KEEP_MODE_MAX_LISTING_ENTRIES + 1) * MAX_STATE_LINE_OCTETS;

/** The state bytes could not be read: never guessed at, since a wrong state could skip a message. */
export class MailboxStateFormatError extends Error {
  override readonly name = 'MailboxStateFormatError';
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Lines encoded to bytes at a time: the state text is never one string, nor one array of lines. */
const LINES_PER_CHUNK = 1024;

export function encodeState(mailboxId: string, state: MailboxState, counter: number): Buffer {
  const header: StateHeader = { format: STATE_FORMAT, version: STATE_FORMAT_VERSION, mailboxId, counter };
  const chunks: Buffer[] = [];
  let text = `${JSON.stringify(header)}\n`;
  for (const [i, { uidl, size, ingestedAt, sha256 }] of state.messages.entries()) {
    const digest = sha256 === undefined ? '' : `,"${sha256}"`;
    text += `[${JSON.stringify(uidl)},${size},${ingestedAt ?? 'null'}${digest}]\n`;
    if (i % LINES_PER_CHUNK === LINES_PER_CHUNK - 1) {
      chunks.push(Buffer.from(text, 'utf8'));
      text = '';
    }
  }
  chunks.push(Buffer.from(text, 'utf8'));
  // Level 1: at 100,000 random UIDLs it is ~1 % larger than the default level 6 and twice as fast.
  return gzipSync(Buffer.concat(chunks), { level: 1 });
}

export function decodeState(
  mailboxId: string,
  bytes: Buffer,
): { readonly state: MailboxState; readonly counter: number } {
  const octets = expand(mailboxId, bytes);
  let header: Partial<StateHeader> | null = null;
  const messages: KeptMessage[] = [];
  let lineNumber = 0;
  // Line by line from the bytes: no copy of the whole text as a string, nor an array of its lines.
  for (let start = 0; start < octets.length; ) {
    const lf = octets.indexOf(0x0a, start);
    const end = lf === -1 ? octets.length : lf;
    const line = octets.toString('utf8', start, end);
    start = end + 1;
    lineNumber++;
    if (lineNumber === 1) {
      header = parseLine(line, 1, mailboxId) as Partial<StateHeader> | null;
      checkHeader(header, mailboxId);
    } else {
      messages.push(keptMessageOf(parseLine(line, lineNumber, mailboxId), lineNumber, mailboxId));
    }
  }
  if (lineNumber === 0) checkHeader(null, mailboxId);
  return { state: { messages }, counter: header?.counter as number };
}

/** The state's text as bytes, at most MAX_STATE_TEXT_OCTETS of them. */
function expand(mailboxId: string, bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_STATE_TEXT_OCTETS });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new StateTooLargeError(
        `the state of mailbox ${mailboxId} expands to more than ${MAX_STATE_TEXT_OCTETS} octets, more than keep ` +
          `mode writes for ${KEEP_MODE_MAX_LISTING_ENTRIES} messages`,
        { cause: error },
      );
    }
    throw new MailboxStateFormatError(`the state of mailbox ${mailboxId} is not gzip data`, { cause: error });
  }
}

function checkHeader(header: Partial<StateHeader> | null, mailboxId: string): void {
  if (
    header?.format !== STATE_FORMAT ||
    header.version !== STATE_FORMAT_VERSION ||
    header.mailboxId !== mailboxId ||
    !Number.isSafeInteger(header.counter)
  ) {
    throw new MailboxStateFormatError(
      `the state of mailbox ${mailboxId} does not start with a ${STATE_FORMAT} v${STATE_FORMAT_VERSION} header for this mailbox`,
    );
  }
}

function keptMessageOf(entry: unknown, lineNumber: number, mailboxId: string): KeptMessage {
  if (
    !Array.isArray(entry) ||
    typeof entry[0] !== 'string' ||
    !Number.isSafeInteger(entry[1]) ||
    !(entry[2] === null || Number.isSafeInteger(entry[2])) ||
    !(entry.length === 3 || (entry.length === 4 && SHA256_HEX.test(entry[3])))
  ) {
    throw new MailboxStateFormatError(
      `line ${lineNumber} of the state of mailbox ${mailboxId} is not [id, size, ingestedAt, sha256]`,
    );
  }
  const sha256 = entry.length === 4 ? { sha256: entry[3] as string } : {};
  return { uidl: entry[0], size: entry[1] as number, ingestedAt: entry[2] ?? undefined, ...sha256 };
}

function parseLine(line: string, lineNumber: number, mailboxId: string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new MailboxStateFormatError(`line ${lineNumber} of the state of mailbox ${mailboxId} is not JSON`, {
      cause: error,
    });
  }
}
