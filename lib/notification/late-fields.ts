/**
 * The header fields `commonHeaders` and the verdicts need, picked out of the part of a header section that
 * comes after what HeaderCollector keeps whole (64 KiB). A message with 300 KB of Received lines before its
 * Subject still has a subject in its notification; a hostile header section of many MiB costs one pass over
 * its bytes and a bounded amount of memory: only the first occurrence of each wanted field is kept, and of
 * Authentication-Results only the topmost run (lib/notification/verdicts.ts), at most
 * LATE_AUTH_RESULTS_MAX fields; each field is cut at LATE_FIELD_MAX_BYTES.
 *
 * Bytes are read line by line as they stream past (RFC 5322 §2.2: a field starts with its name and a
 * colon, a line starting with a space or tab continues the field before it; an empty line, CRLF or bare
 * LF, ends the section), so a field split across chunks is found the same as a whole one.
 */

/**
 * Longest field kept from past the cut. RFC 5322 §2.1.1 limits a line to 998 octets; a folded To or Cc
 * list can run over several lines, and 8 KiB keeps hundreds of addresses while bounding a hostile one.
 */
export const LATE_FIELD_MAX_BYTES = 8 * 1024;

/**
 * Most Authentication-Results fields kept from past the cut: one per milter of one hop (OpenDKIM,
 * OpenDMARC, an SPF milter, ARC) fits; a longer run is a hostile one.
 */
export const LATE_AUTH_RESULTS_MAX = 4;

const AUTHENTICATION_RESULTS = 'authentication-results';

/**
 * Where the topmost run of Authentication-Results fields stands at the cut: not begun yet (`before`), the
 * last complete field before the cut is one of them (`open`: the run may go on past the cut), or it
 * ended before the cut (`closed`: none is kept from past it).
 */
export type AuthResultsRun = 'before' | 'open' | 'closed';

/**
 * The fields the notification takes commonHeaders, source and destination from (lib/notification/build.ts),
 * and the spam filter fields of lib/notification/spam-verdict.ts.
 */
const WANTED_FIELDS = new Set([
  'return-path',
  'from',
  'sender',
  'reply-to',
  'to',
  'cc',
  'bcc',
  'date',
  'message-id',
  'subject',
  'x-ms-exchange-organization-scl',
  'x-forefront-antispam-report',
  'x-spam-flag',
  'x-spam-status',
  'x-spam',
  'x-spamd-result',
]);

/** Enough of a line to find the colon after any wanted name (the longest has 30 characters) and blanks. */
const NAME_LOOKAHEAD_BYTES = 40;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

type LineState = 'head' | 'keep' | 'skip';

export class LateFieldCollector {
  readonly #kept: Buffer[] = [];
  readonly #seen = new Set<string>();
  /** The field being kept, line by line, or undefined while inside a field we do not want. */
  #field: Buffer[] | undefined;
  #fieldBytes = 0;
  #fieldCut = false;
  /** The start of the current line, while we cannot yet tell what kind of line it is. */
  #head: number[] = [];
  #line: LineState = 'head';
  #ended = false;
  #run: 'before' | 'in' | 'after';
  #runKept = 0;

  constructor(options: { authResultsRun?: AuthResultsRun } = {}) {
    const run = options.authResultsRun ?? 'before';
    this.#run = run === 'open' ? 'in' : run === 'closed' ? 'after' : 'before';
  }

  /** True once the empty line that ends the header section was seen. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The kept fields, each as complete lines ending in a line break, in the order they came. */
  fieldBytes(): Buffer {
    return Buffer.concat(this.#field === undefined ? this.#kept : [...this.#kept, this.#fieldAsLines()]);
  }

  /** Feeds the next bytes of the header section; the first call must start at the start of a line. */
  write(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length && !this.#ended) {
      if (this.#line === 'head') {
        i = this.#readHead(bytes, i);
        continue;
      }
      const newline = bytes.indexOf(LF, i);
      const stop = newline === -1 ? bytes.length : newline + 1;
      if (this.#line === 'keep') this.#keep(bytes.subarray(i, stop));
      if (newline !== -1) this.#line = 'head';
      i = stop;
    }
  }

  /** Reads the start of a line until it can tell what the line is; returns where it stopped. */
  #readHead(bytes: Buffer, from: number): number {
    let i = from;
    while (i < bytes.length) {
      const byte = bytes[i]!;
      const head = this.#head;
      if (byte === LF && (head.length === 0 || (head.length === 1 && head[0] === CR))) {
        this.#finishField();
        this.#ended = true;
        return i + 1;
      }
      if (head.length === 0 && (byte === SP || byte === HT)) {
        // A continuation line belongs to the field before it, kept or not.
        this.#line = this.#field === undefined ? 'skip' : 'keep';
        return i;
      }
      head.push(byte);
      i++;
      if (byte === COLON || byte === LF || head.length >= NAME_LOOKAHEAD_BYTES) {
        this.#startLine(Buffer.from(head), byte === LF);
        return i;
      }
    }
    return i;
  }

  /** A line that is not a continuation: a new field (wanted or not) or a line that is no field at all. */
  #startLine(head: Buffer, complete: boolean): void {
    this.#head = [];
    this.#finishField();
    const name = fieldNameOf(head);
    const wanted =
      name === AUTHENTICATION_RESULTS
        ? this.#keepsAuthResults()
        : name !== undefined && WANTED_FIELDS.has(name) && !this.#seen.has(name);
    if (name !== AUTHENTICATION_RESULTS && this.#run === 'in') this.#run = 'after';
    if (wanted && name !== undefined) {
      this.#seen.add(name);
      this.#field = [];
      this.#fieldBytes = 0;
      this.#fieldCut = false;
      this.#keep(head);
    }
    this.#line = complete ? 'head' : wanted ? 'keep' : 'skip';
  }

  /** An Authentication-Results field starts: kept while it belongs to the topmost run, within the cap. */
  #keepsAuthResults(): boolean {
    if (this.#run === 'after') return false;
    this.#run = 'in';
    if (this.#runKept >= LATE_AUTH_RESULTS_MAX) return false;
    this.#runKept++;
    return true;
  }

  #keep(bytes: Buffer): void {
    const room = LATE_FIELD_MAX_BYTES - this.#fieldBytes;
    if (room <= 0 || this.#field === undefined) {
      this.#fieldCut ||= bytes.length > 0;
      return;
    }
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    if (kept.length < bytes.length) this.#fieldCut = true;
    this.#field.push(Buffer.from(kept));
    this.#fieldBytes += kept.length;
  }

  #finishField(): void {
    if (this.#field === undefined) return;
    this.#kept.push(this.#fieldAsLines());
    this.#field = undefined;
  }

  /** The field being kept as complete lines: a cut one ends on a whole UTF-8 character and a line break. */
  #fieldAsLines(): Buffer {
    let bytes = Buffer.concat(this.#field ?? []);
    if (this.#fieldCut) bytes = bytes.subarray(0, wholeUtf8Prefix(bytes));
    return bytes.at(-1) === LF ? bytes : Buffer.concat([bytes, Buffer.from('\r\n')]);
  }
}

/** The lower-cased field name of a line head ending in its colon, or undefined when it is no field. */
function fieldNameOf(head: Buffer): string | undefined {
  if (head.at(-1) !== COLON) return undefined;
  let end = head.length - 1;
  // Obsolete syntax (RFC 5322 §4.5.3) allows blanks between the name and the colon.
  while (end > 0 && (head[end - 1] === SP || head[end - 1] === HT)) end--;
  const name = head.subarray(0, end);
  if (name.length === 0 || !name.every((byte) => byte > SP && byte < 0x7f)) return undefined;
  return name.toString('latin1').toLowerCase();
}

/**
 * Length of `bytes` without a UTF-8 sequence cut at its end, so a cut value still decodes as UTF-8 instead
 * of falling back to Latin-1 (lib/notification/header-fields.ts) and garbling every character before it.
 */
function wholeUtf8Prefix(bytes: Buffer): number {
  let start = bytes.length - 1;
  // Back over at most three continuation bytes to the lead byte of the last sequence.
  while (start >= 0 && bytes.length - start <= 4 && (bytes[start]! & 0xc0) === 0x80) start--;
  if (start < 0) return bytes.length;
  const lead = bytes[start]!;
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return bytes.length - start >= needed ? bytes.length : start;
}
