/**
 * The header fields of the parsed document, decoded the way mailparser decodes the fields it knows
 * (libmime: unfold, 8-bit bytes as UTF-8, encoded words of RFC 2047), for every field and in message
 * order, so a consumer sees the fields mailparser turns into objects (List-*, priorities) as written too.
 * The date is read here, not taken from mailparser: it puts the time of parsing in place of a Date it
 * cannot read, and the document must not change from one parse to the next.
 */
import libmime from 'libmime';
import type { AddressObject, EmailAddress, HeaderLines, Headers } from 'mailparser';
import type { ParsedAddress, ParsedHeader } from './document.ts';
import type { ParsedLimits } from './limits.ts';

export interface DecodedHeaders {
  readonly headers: ParsedHeader[];
  readonly notListed: number;
  readonly valuesCut: number;
}

/** Every field of `lines` (mailparser's headerLines), decoded, within the caps. */
export function decodeHeaderLines(lines: HeaderLines, limits: ParsedLimits): DecodedHeaders {
  const headers: ParsedHeader[] = [];
  let valuesCut = 0;
  for (const { line } of lines.slice(0, limits.maxHeaderFields)) {
    const colon = line.indexOf(':');
    const name = (colon === -1 ? line : line.slice(0, colon)).trim();
    let value = decodeFieldValue(line);
    if (value.length > limits.maxHeaderValueChars) {
      value = cutChars(value, limits.maxHeaderValueChars);
      valuesCut++;
    }
    headers.push({ name, value });
  }
  return { headers, notListed: Math.max(0, lines.length - limits.maxHeaderFields), valuesCut };
}

function decodeFieldValue(line: string): string {
  const raw = (libmime.decodeHeader(line).value ?? '').toString().trim();
  const utf8 = Buffer.from(raw, 'binary').toString();
  try {
    return libmime.decodeWords(utf8);
  } catch {
    // An encoded word libmime cannot decode stays as written: the field is still there to read.
    return utf8;
  }
}

/** The first `max` characters, not splitting a surrogate pair. */
export function cutChars(value: string, max: number): string {
  const end = max > 0 && /[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max;
  return value.slice(0, end);
}

/** The addresses of an address field, groups flattened to their members. */
export function addressesOf(headers: Headers | undefined, name: string): ParsedAddress[] {
  const value = headers?.get(name) as AddressObject | AddressObject[] | undefined;
  if (value === undefined) return [];
  const fields = Array.isArray(value) ? value : [value];
  const flat: ParsedAddress[] = [];
  const add = (entry: EmailAddress) => {
    if (entry.group) {
      for (const member of entry.group) add(member);
    } else {
      flat.push({ name: entry.name ?? '', address: entry.address ?? '' });
    }
  };
  for (const field of fields) for (const entry of field.value ?? []) add(entry);
  return flat;
}

/** The first value of a single-text field, or null. */
export function textOf(headers: Headers | undefined, name: string): string | null {
  const value = headers?.get(name);
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return null;
}

/** The Date field (first one) as ISO 8601, or null when absent or unreadable. */
export function dateOf(headerFields: readonly ParsedHeader[]): string | null {
  const field = headerFields.find(({ name }) => name.toLowerCase() === 'date');
  if (field === undefined) return null;
  const date = new Date(field.value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
