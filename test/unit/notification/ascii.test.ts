/**
 * Notification bodies are pure ASCII JSON: every queue takes them (SQS refuses U+FFFE/U+FFFF, some
 * implementations refuse characters outside the BMP), the parsed document is unchanged, and the size
 * budget holds for the escaped form.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiJson, buildNotification, type NotificationInput } from '../../../lib/notification/build.ts';
import type { ReceivedNotification } from '../../../lib/notification/types.ts';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function input(header: string | Buffer): NotificationInput {
  return {
    mailboxId: 'support',
    host: 'pop.example.com',
    username: 'support@example.com',
    uidl: '000001a2',
    size: 1234,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    retrievedAt: new Date('2025-03-01T10:00:00.000Z'),
    processingTimeMillis: 250,
    bucketName: 'mail-archive',
    objectKey: 'support/uidl/000001a2/e3b0.eml',
    headerBytes: typeof header === 'string' ? Buffer.from(header, 'utf8') : header,
  };
}

describe('asciiJson', () => {
  it('escapes every character outside printable ASCII and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (value, text) => {
        for (const candidate of [value, { text }]) {
          const json = asciiJson(candidate);
          expect(json).toMatch(PRINTABLE_ASCII);
          expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(candidate)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('writes an emoji as its surrogate pair, lone surrogates, controls and DEL as escapes', () => {
    expect(asciiJson('😀')).toBe('"\\ud83d\\ude00"');
    expect(asciiJson('\ud800x\udfff')).toBe('"\\ud800x\\udfff"');
    expect(asciiJson('\u0000\u0001\t\u001f\u007f')).toBe('"\\u0000\\u0001\\t\\u001f\\u007f"');
    expect(asciiJson('caf\u00e9 \ufffe\uffff')).toBe('"caf\\u00e9 \\ufffe\\uffff"');
  });
});

describe('buildNotification bodies are ASCII', () => {
  it('keeps an emoji subject, a U+FFFE subject and 8-bit addresses exactly in the parsed document', () => {
    const header =
      'Subject: Party 🎉 \ufffe tonight\r\nFrom: Jürgen <j@example.com>\r\nTo: ü@example.com\r\n\r\n';
    const { body } = buildNotification(input(header));
    expect(body).toMatch(PRINTABLE_ASCII);
    const document = JSON.parse(body) as ReceivedNotification;
    expect(document.mail.commonHeaders.subject).toBe('Party 🎉 \ufffe tonight');
    expect(document.mail.commonHeaders.from).toEqual(['Jürgen <j@example.com>']);
  });

  it('measures the size limit on the escaped form, which is up to six times the characters', () => {
    // 3000 CJK characters: 9000 bytes as UTF-8, 18000 bytes escaped.
    const subject = '漢'.repeat(3000);
    const maxBytes = 12_000;
    const { body, headersTruncated } = buildNotification(input(`Subject: ${subject}\r\n\r\n`), { maxBytes });
    expect(body).toMatch(PRINTABLE_ASCII);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(maxBytes);
    expect(headersTruncated).toBe(true);
    const document = JSON.parse(body) as ReceivedNotification;
    expect(subject.startsWith(document.mail.commonHeaders.subject ?? 'missing')).toBe(true);
  });

  it('stays within the limit for any header bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (random) => {
        const { body } = buildNotification(input(Buffer.from(random)), { maxBytes: 4000 });
        expect(body).toMatch(PRINTABLE_ASCII);
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(4000);
      }),
      { numRuns: 200 },
    );
  });
});
