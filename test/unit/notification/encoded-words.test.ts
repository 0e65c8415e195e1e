/**
 * decodeEncodedWords must give exactly what libmime's decodeWords gives, for every value: its own path
 * (UTF-8, US-ASCII, ISO-8859-1 words) is checked against libmime on generated values and on every header
 * of the mail corpus, and values with other charsets must reach libmime itself.
 */
import fc from 'fast-check';
import libmime from 'libmime';
import { describe, expect, it } from 'vitest';
import { decodeEncodedWords, needsLibmime } from '../../../lib/notification/encoded-words.ts';
import { parseHeaderFields } from '../../../lib/notification/header-fields.ts';
import { extractHeaderSection } from '../../../lib/notification/header-section.ts';
import { corpusAvailable, loadCorpus } from '../../support/corpus.ts';

const COMMON = ['utf-8', 'UTF-8', 'utf8', 'us-ascii', 'ascii', 'ISO-8859-1', 'iso8859-1', 'latin1', 'cp1252'];
const RARE = ['ISO-2022-JP', 'gb2312', 'koi8-r', 'iso-8859-15', 'utf-16', 'utf-7', 'x-unknown', 'utf-8*en'];

/** Payload characters that exercise the decoders' corners: `=`, `_`, hex digits, white space, non-ASCII. */
const payloadChar = fc.constantFrom(
  ...'=_ \tAaFf09Zz+/-.!é€日'.split(''),
  ...Array.from({ length: 8 }, (_, i) => String.fromCharCode(0x41 + i * 3)),
);

function encodedWord(charsets: readonly string[]) {
  return fc.oneof(
    // A well-formed word: some bytes, Q- or B-encoded.
    fc
      .record({
        charset: fc.constantFrom(...charsets),
        encoding: fc.constantFrom('Q', 'q', 'B', 'b'),
        bytes: fc.uint8Array({ maxLength: 24 }),
      })
      .map(({ charset, encoding, bytes }) => {
        const payload =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(bytes).toString('base64')
            : [...bytes].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
        return `=?${charset}?${encoding}?${payload}?=`;
      }),
    // Anything between the delimiters.
    fc
      .record({
        charset: fc.constantFrom(...charsets),
        encoding: fc.constantFrom('Q', 'B', 'X'),
        payload: fc.array(payloadChar, { maxLength: 16 }).map((chars) => chars.join('')),
      })
      .map(({ charset, encoding, payload }) => `=?${charset}?${encoding}?${payload}?=`),
  );
}

function headerValue(charsets: readonly string[]) {
  const between = fc.constantFrom('', ' ', '  ', '\t', ' x ', 'Re: ', '=?', '?=', '?', '_');
  return fc.array(fc.oneof(encodedWord(charsets), between), { maxLength: 8 }).map((parts) => parts.join(''));
}

describe('decodeEncodedWords', () => {
  it('decodes UTF-8, US-ASCII and ISO-8859-1 words itself, exactly as libmime does', () => {
    fc.assert(
      fc.property(headerValue(COMMON), (value) => {
        expect(needsLibmime(value)).toBe(false);
        expect(decodeEncodedWords(value)).toBe(libmime.decodeWords(value));
      }),
      { numRuns: 3000 },
    );
  });

  it('hands a value to libmime as soon as one of its words names another charset', () => {
    for (const charset of RARE) {
      expect(needsLibmime(`=?utf-8?Q?a?= =?${charset}?B?YQ==?=`), charset).toBe(true);
    }
    expect(needsLibmime('=?UTF-8?q?a?= =?Latin1?b?YQ==?= =? no word ?=')).toBe(false);
  });

  it('decodes values that also name other charsets exactly as libmime does', () => {
    fc.assert(
      fc.property(headerValue([...COMMON, ...RARE]), (value) => {
        expect(decodeEncodedWords(value)).toBe(libmime.decodeWords(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('maps every windows-1252 byte as libmime does (ISO-8859-1 labels mean windows-1252)', () => {
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const word = `=?iso-8859-1?B?${everyByte.toString('base64')}?=`;
    expect(decodeEncodedWords(word)).toBe(libmime.decodeWords(word));
    expect(decodeEncodedWords('=?ISO-8859-1?Q?=80=81=9F=A0=FF?=')).toBe('€\uFFFDŸ\u00A0ÿ');
  });

  it('joins split words and drops the white space between encoded words', () => {
    const split = '=?UTF-8?B?5pel5pys?= =?UTF-8?B?6Kqe?= and =?utf-8?Q?caf=C3?=\r\n =?utf-8?Q?=A9?=';
    expect(decodeEncodedWords(split)).toBe('日本語 and café');
  });

  it('leaves a value without encoded words as it is', () => {
    expect(decodeEncodedWords('Re: [list] 50% =? off')).toBe('Re: [list] 50% =? off');
  });

  it.skipIf(!corpusAvailable())('agrees with libmime on every header value of the mail corpus', () => {
    let encoded = 0;
    for (const message of loadCorpus()) {
      for (const field of parseHeaderFields(extractHeaderSection(message.bytes))) {
        if (field.value.includes('=?')) encoded++;
        expect(decodeEncodedWords(field.value), `${message.name}: ${field.name}`).toBe(
          libmime.decodeWords(field.value),
        );
      }
    }
    expect(encoded).toBeGreaterThanOrEqual(15);
  });
});
