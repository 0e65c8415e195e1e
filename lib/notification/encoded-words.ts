/**
 * RFC 2047 encoded words in header values (Subject, display names), decoded exactly as libmime's
 * `decodeWords` decodes them.
 *
 * libmime brings iconv-lite's code-page tables (a large part of a bundle) and builds some of them as it
 * loads (a cost paid in every cold start; figures in bench/notes.md, "Figures behind the design notes in
 * the code"), yet nearly every encoded word in real mail is UTF-8,
 * US-ASCII or ISO-8859-1. Values whose encoded words all use those are decoded here, by the same steps libmime takes,
 * with Node's own decoders. libmime is loaded only the first time a value names any other charset, and
 * then decodes that whole value itself.
 */
import { createRequire } from 'node:module';
import type libmimeDefault from 'libmime';

type Libmime = typeof libmimeDefault;

/**
 * Charsets decoded here, lower-cased, with the name libmime's `normalizeCharset` gives them. libmime
 * follows the WHATWG Encoding Standard: US-ASCII and ISO-8859-1 labels mean windows-1252.
 */
const COMMON_CHARSETS: ReadonlyMap<string, 'UTF-8' | 'windows-1252'> = new Map([
  ['utf-8', 'UTF-8'],
  ['utf8', 'UTF-8'],
  ['us-ascii', 'windows-1252'],
  ['ascii', 'windows-1252'],
  ['iso-8859-1', 'windows-1252'],
  ['iso8859-1', 'windows-1252'],
  ['latin1', 'windows-1252'],
  ['windows-1252', 'windows-1252'],
  ['cp1252', 'windows-1252'],
]);

/**
 * windows-1252 bytes 0x80 to 0x9F as iconv-lite decodes them (U+FFFD where the code page has no
 * character); every other byte is the ISO-8859-1 character of the same number.
 */
const WINDOWS_1252_C1 = '€\uFFFD‚ƒ„…†‡ˆ‰Š‹Œ\uFFFDŽ\uFFFD\uFFFD‘’“”•–—˜™š›œ\uFFFDžŸ';

/** Every `=?charset?Q?` or `=?charset?B?` start, wherever it is (the look-ahead lets starts overlap). */
const WORD_START = /=\?(?=([^?]+)\?[QqBb]\?)/g;
const PLAIN_CHARSET_NAME = /^[A-Za-z0-9-]+$/;
const JOIN = '__\x00JOIN\x00__';

let libmime: Libmime | undefined;

/** The value with its encoded words decoded; text around them is kept as it is. */
export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  if (needsLibmime(text)) return loadLibmime().decodeWords(text);
  return decodeCommonWords(text);
}

/** Whether the value has an encoded word in a charset other than the common ones decoded here. */
export function needsLibmime(text: string): boolean {
  for (const [, charset] of text.matchAll(WORD_START)) {
    if (!PLAIN_CHARSET_NAME.test(charset!) || !COMMON_CHARSETS.has(charset!.toLowerCase())) return true;
  }
  return false;
}

function loadLibmime(): Libmime {
  // Loaded with Node's own `require`, which bundlers do not follow: a bundle ships libmime beside itself
  // as node_modules/libmime (scripts/build.mjs), read and run only when this line first runs.
  libmime ??= createRequire(import.meta.url)('libmime') as Libmime;
  return libmime;
}

const canonical = (charset: string) => COMMON_CHARSETS.get(charset.toLowerCase());

/** libmime's decodeWords, step for step, for values whose charsets are all in COMMON_CHARSETS. */
function decodeCommonWords(text: string): string {
  const markJoinable = (match: string, left: string, leftCharset: string, rightCharset: string) =>
    canonical(leftCharset) === canonical(rightCharset) ? left + JOIN : match;
  return (
    text
      // Adjacent words of one encoding and charset become one word, so that a character split
      // across them decodes whole.
      .replace(/(=\?([^?]+)\?[Bb]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Bb]\?[^?]*\?=)/g, markJoinable)
      .replace(/(=\?([^?]+)\?[Qq]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Qq]\?[^?]*\?=)/g, markJoinable)
      .replace(/(\?=)?__\x00JOIN\x00__(=\?([^?]+)\?[QqBb]\?)?/g, '')
      // RFC 2047 section 6.2: white space between adjacent encoded words is not displayed.
      .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?[^?]*\?=)/g, '$1')
      .replace(/=\?([\w_\-*]+)\?([QqBb])\?([^?]*)\?=/g, (_word, charset: string, encoding: string, payload) =>
        decodeText(encoding.toUpperCase() === 'Q' ? decodeQ(payload) : decodeB(payload), canonical(charset)!),
      )
  );
}

/** RFC 2047 section 4.2 "Q", as libmime reads it: `_` and white space are spaces, `=XX` a byte. */
function decodeQ(payload: string): Buffer {
  const bytes = Buffer.from(payload.replace(/=\s+([0-9a-fA-F])/g, '=$1').replace(/[_\s]/g, ' '));
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x3d && isHexDigit(bytes[i + 1]) && isHexDigit(bytes[i + 2])) {
      out.push(Number.parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16));
      i += 2;
    } else {
      out.push(byte);
    }
  }
  return Buffer.from(out);
}

function isHexDigit(byte: number | undefined): boolean {
  return (
    byte !== undefined &&
    ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66))
  );
}

/**
 * RFC 2047 section 4.1 "B", as libbase64 reads it: characters beyond U+00FF are dropped, and a payload
 * with data after a padding `=` is decoded segment by segment (Node stops at the first padding).
 */
function decodeB(payload: string): Buffer {
  const text = payload.replace(/[^\u0000-\u00ff]+/g, '');
  const padding = text.indexOf('=');
  if (padding === -1 || !/[a-zA-Z0-9+/\-_]/.test(text.slice(padding))) return Buffer.from(text, 'base64');
  const out = Buffer.alloc(Math.floor((text.length * 3) / 4));
  let length = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('=', start);
    if (end === -1) end = text.length;
    if (end > start) length += out.write(text.substring(start, end), length, 'base64');
    start = end + 1;
  }
  return Buffer.from(out.subarray(0, length));
}

function decodeText(bytes: Buffer, charset: 'UTF-8' | 'windows-1252'): string {
  if (charset === 'UTF-8') return bytes.toString('utf8');
  return bytes
    .toString('latin1')
    .replace(/[\x80-\x9f]/g, (char) => WINDOWS_1252_C1[char.charCodeAt(0) - 0x80]!);
}
