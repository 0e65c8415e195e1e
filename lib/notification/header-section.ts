/**
 * Finding the header section of a message (RFC 5322 §2.1: header fields, then an empty line, then the
 * body) in the bytes as they stream past, without keeping more than a bounded prefix in memory.
 *
 * Line endings are not trusted: servers hand out CRLF, bare LF, or a mix, so an empty line is either
 * CRLF CRLF, LF LF, or any mix of the two.
 */

import { parseHeaderFields } from './header-fields.ts';
import { type AuthResultsRun, LateFieldCollector } from './late-fields.ts';

/** Default cap on the header bytes kept for a notification: far more than any honest header section. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;

/**
 * Looks for the empty line that ends the header section, across as many pieces of input as needed.
 * It only remembers where in the current line it is, so every byte is looked at once.
 */
class EmptyLineScanner {
  #atLineStart = true;
  #crAtLineStart = false;

  /** Offset in `bytes` just past the empty line, or -1 when it is not in these bytes. */
  scan(bytes: Buffer): number {
    let i = 0;
    while (i < bytes.length) {
      if (!this.#atLineStart) {
        const newline = bytes.indexOf(LF, i);
        if (newline === -1) return -1;
        this.#atLineStart = true;
        i = newline + 1;
        continue;
      }
      const byte = bytes[i];
      if (byte === LF) return i + 1;
      if (byte === CR && !this.#crAtLineStart) {
        this.#crAtLineStart = true;
      } else {
        this.#atLineStart = false;
        this.#crAtLineStart = false;
      }
      i++;
    }
    return -1;
  }
}

/**
 * The header section of a message: the bytes up to and including the first empty line. When the prefix
 * holds no empty line (a huge header section, or a message without a body), the whole prefix.
 */
export function extractHeaderSection(messagePrefix: Buffer): Buffer {
  const end = new EmptyLineScanner().scan(messagePrefix);
  return end === -1 ? messagePrefix : messagePrefix.subarray(0, end);
}

/**
 * Keeps the header section of a message fed to it chunk by chunk, up to `maxBytes`. Past `maxBytes` it
 * goes on scanning the section as it streams and keeps only the fields commonHeaders and the verdicts need
 * (bounded, see late-fields.ts), so a flood of Received lines cannot hide the Subject. Feed it every chunk of the message
 * (it ignores what it no longer needs), then read `headerBytes()` and `truncated`.
 */
export class HeaderCollector {
  readonly maxBytes: number;
  readonly #scanner = new EmptyLineScanner();
  #buffer = Buffer.alloc(0);
  #length = 0;
  #complete = false;
  #truncated = false;
  /** After the cut: where the complete fields of the buffer end, and the wanted fields seen since. */
  #cutAt = 0;
  #late: LateFieldCollector | undefined;

  constructor(maxBytes: number = DEFAULT_MAX_HEADER_BYTES) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    }
    this.maxBytes = maxBytes;
  }

  /** True once the empty line that ends the header section has been seen (also after a cut). */
  get complete(): boolean {
    return this.#complete;
  }

  /** True when `maxBytes` was reached before the end of the header section. */
  get truncated(): boolean {
    return this.#truncated;
  }

  /** True when further chunks would be ignored. */
  get done(): boolean {
    return this.#complete;
  }

  write(chunk: Uint8Array): void {
    if (this.done || chunk.length === 0) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#late !== undefined) {
      this.#late.write(bytes);
      this.#complete = this.#late.ended;
      return;
    }
    const room = this.maxBytes - this.#length;
    const view = bytes.subarray(0, room);
    const end = this.#scanner.scan(view);
    const kept = end === -1 ? view : view.subarray(0, end);
    this.#append(kept);
    if (end !== -1) this.#complete = true;
    else if (this.#length >= this.maxBytes) this.#cut(bytes.subarray(room));
  }

  /**
   * The header section (with its closing empty line when it was seen) when it fit in `maxBytes`. When it
   * did not (`truncated`): its complete fields within `maxBytes`, then the wanted fields that came after,
   * all as complete lines, so nothing in it is cut mid-field.
   */
  headerBytes(): Buffer {
    if (this.#late === undefined) return Buffer.from(this.#buffer.subarray(0, this.#length));
    return Buffer.concat([this.#buffer.subarray(0, this.#cutAt), this.#late.fieldBytes()]);
  }

  /**
   * `maxBytes` reached inside the header section. The field in progress may go on past the cut (more of
   * its line, or continuation lines), so the late scan starts at that field's first line.
   */
  #cut(rest: Buffer): void {
    this.#truncated = true;
    this.#cutAt = startOfLastField(this.#buffer.subarray(0, this.#length));
    this.#late = new LateFieldCollector({
      authResultsRun: authResultsRunOf(this.#buffer.subarray(0, this.#cutAt)),
    });
    this.#late.write(this.#buffer.subarray(this.#cutAt, this.#length));
    this.#late.write(rest);
    this.#complete = this.#late.ended;
  }

  /** Copies into a buffer that grows by doubling, so many small chunks cost linear time. */
  #append(bytes: Buffer): void {
    const needed = this.#length + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = Buffer.alloc(Math.min(this.maxBytes, Math.max(needed, this.#buffer.length * 2, 4096)));
      this.#buffer.copy(grown, 0, 0, this.#length);
      this.#buffer = grown;
    }
    bytes.copy(this.#buffer, this.#length);
    this.#length = needed;
  }
}

/** Where the topmost Authentication-Results run stands after these complete fields (see late-fields.ts). */
function authResultsRunOf(completeFields: Buffer): AuthResultsRun {
  const names = parseHeaderFields(completeFields).map((field) => field.name.toLowerCase());
  if (!names.includes('authentication-results')) return 'before';
  return names.at(-1) === 'authentication-results' ? 'open' : 'closed';
}

/** Offset of the first line of the field that `bytes` ends in (a line not starting with a blank). */
function startOfLastField(bytes: Buffer): number {
  let lastByte = bytes.length - 1;
  for (;;) {
    const newline = lastByte <= 0 ? -1 : bytes.lastIndexOf(LF, lastByte - 1);
    const lineStart = newline + 1;
    const first = bytes[lineStart];
    if (first !== SP && first !== HT) return lineStart;
    if (newline === -1) return 0;
    lastByte = newline;
  }
}
