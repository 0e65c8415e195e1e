/**
 * The text and HTML bodies of the document, cut to a size in UTF-8 bytes. mailparser hands each body over
 * as one string (it gathers text parts whole, see parse-message.ts); the cut is measured without encoding
 * the whole string, so a 100 MiB body costs one copy of the kept part, not a second 100 MiB.
 */
import type { ParsedBody } from './document.ts';

export function cappedBody(value: string | false | undefined, maxBytes: number): ParsedBody | null {
  if (value === undefined || value === false) return null;
  const bytes = Buffer.byteLength(value, 'utf8');
  const replacementCharacters = countReplacements(value);
  if (bytes <= maxBytes) return { content: value, bytes, truncated: false, replacementCharacters };
  return { content: cutUtf8(value, maxBytes), bytes, truncated: true, replacementCharacters };
}

/** The longest start of `value` whose UTF-8 form has at most `maxBytes` bytes, not splitting a character. */
export function cutUtf8(value: string, maxBytes: number): string {
  // Every character takes at least one byte, so the first maxBytes characters hold the answer.
  const encoded = Buffer.from(value.slice(0, maxBytes), 'utf8');
  if (encoded.length <= maxBytes) return encoded.toString('utf8');
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) to the first byte of the character that would be split.
  while (end > 0 && (encoded[end]! & 0xc0) === 0x80) end--;
  return encoded.subarray(0, end).toString('utf8');
}

function countReplacements(value: string): number {
  let count = 0;
  for (let at = value.indexOf('\uFFFD'); at !== -1; at = value.indexOf('\uFFFD', at + 1)) count++;
  return count;
}
