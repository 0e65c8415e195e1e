/**
 * Splitting a raw header section into fields (RFC 5322 §2.2), the way SES reports them in
 * `mail.headers`: in order, unfolded, values left as written (no RFC 2047 decoding).
 *
 * Real mail is full of damage, and a notification must still go out for it, so nothing here throws:
 * a line that is not a field (an mbox "From " line, a name with spaces, no colon) is skipped together with
 * its continuation lines; NUL and other control bytes are kept as they are (JSON escapes them).
 */

export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header bytes as text: UTF-8 when they are valid UTF-8 (RFC 6532 headers, and plain ASCII), otherwise
 * Latin-1, which maps every byte to a character so nothing is lost or replaced.
 */
export function decodeHeaderBytes(bytes: Buffer): string {
  if (bytes.every((byte) => byte < 0x80)) return bytes.toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** RFC 5322 §3.6.8: a field name is one or more printable ASCII characters other than ':'. */
function isFieldName(bytes: Buffer): boolean {
  return bytes.length > 0 && bytes.every((byte) => byte > SP && byte < 0x7f && byte !== COLON);
}

function isWhitespace(byte: number | undefined): boolean {
  return byte === SP || byte === HT;
}

/** Lines of the header section, each without its line ending, up to (not including) the empty line. */
function headerLines(section: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  while (start < section.length) {
    const newline = section.indexOf(LF, start);
    const end = newline === -1 ? section.length : newline;
    const line = section.subarray(start, end > start && section[end - 1] === CR ? end - 1 : end);
    if (line.length === 0 && newline !== -1) break;
    lines.push(line);
    start = end + 1;
  }
  return lines;
}

/**
 * The fields of a header section, in order. Folded values are unfolded as SES does: each line break
 * together with the whitespace character after it becomes one space (so a tab fold reads as a space).
 *
 * `incomplete`: the section was cut short, so the last field may be cut too and is dropped.
 */
export function parseHeaderFields(section: Buffer, options: { incomplete?: boolean } = {}): HeaderField[] {
  const fields: HeaderField[] = [];
  let name: string | undefined;
  let parts: Buffer[] = [];
  const finish = () => {
    if (name !== undefined)
      fields.push({ name, value: trimWhitespace(decodeHeaderBytes(Buffer.concat(parts))) });
    name = undefined;
    parts = [];
  };
  for (const line of headerLines(section)) {
    if (isWhitespace(line[0])) {
      // A continuation line; one that follows no field (or a skipped line) is skipped with it.
      if (name !== undefined) parts.push(Buffer.from(' '), line.subarray(1));
      continue;
    }
    finish();
    const colon = line.indexOf(COLON);
    if (colon === -1) continue;
    // Obsolete syntax (RFC 5322 §4.5.3) allows whitespace between the name and the colon.
    let nameEnd = colon;
    while (nameEnd > 0 && isWhitespace(line[nameEnd - 1])) nameEnd--;
    const nameBytes = line.subarray(0, nameEnd);
    if (!isFieldName(nameBytes)) continue;
    name = nameBytes.toString('latin1');
    parts = [line.subarray(colon + 1)];
  }
  if (options.incomplete) {
    name = undefined;
  }
  finish();
  return fields;
}

/** Trims spaces and tabs only: other control characters belong to the value as written. */
function trimWhitespace(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The value of the first field called `name` (case-insensitive), or undefined. */
export function firstField(fields: readonly HeaderField[], name: string): string | undefined {
  const wanted = name.toLowerCase();
  return fields.find((field) => field.name.toLowerCase() === wanted)?.value;
}

/** The values of every field called `name` (case-insensitive), in order. */
export function allFields(fields: readonly HeaderField[], name: string): string[] {
  const wanted = name.toLowerCase();
  return fields.filter((field) => field.name.toLowerCase() === wanted).map((field) => field.value);
}
