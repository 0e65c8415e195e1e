/**
 * commonHeaders come from the whole header section, even past the 64 KiB that HeaderCollector keeps
 * whole: the wanted fields after the cut are picked out as the bytes stream past, bounded in memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildNotification, type NotificationInput } from '../../../lib/notification/build.ts';
import { DEFAULT_MAX_HEADER_BYTES, HeaderCollector } from '../../../lib/notification/header-section.ts';
import { LATE_FIELD_MAX_BYTES, LateFieldCollector } from '../../../lib/notification/late-fields.ts';
import type { ReceivedNotification } from '../../../lib/notification/types.ts';

const KiB = 1024;

function received(count: number): string {
  let lines = '';
  for (let i = 0; i < count; i++) {
    lines += `Received: from relay${i}.example.net (relay${i}.example.net [192.0.2.${i % 250}])\r\n\tby mx.example.com with ESMTPS id ${i}\r\n`;
  }
  return lines;
}

function collect(message: Buffer, chunkSize: number): HeaderCollector {
  const collector = new HeaderCollector();
  for (let at = 0; at < message.length; at += chunkSize)
    collector.write(message.subarray(at, at + chunkSize));
  return collector;
}

function notify(collector: HeaderCollector): ReceivedNotification {
  const input: NotificationInput = {
    mailboxId: 'support',
    host: 'pop.example.com',
    username: 'support',
    uidl: 'u1',
    size: 1,
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    retrievedAt: new Date('2025-03-01T10:00:00.000Z'),
    processingTimeMillis: 1,
    bucketName: 'b',
    objectKey: 'k',
    headerBytes: collector.headerBytes(),
    headerSectionTruncated: collector.truncated,
  };
  return JSON.parse(buildNotification(input).body) as ReceivedNotification;
}

describe('HeaderCollector past maxBytes', () => {
  const tail =
    'From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@example.net>\r\n' +
    'To: a@example.com,\r\n b@example.com\r\n' +
    'Cc: c@example.com\r\n' +
    'Date: Sat, 1 Mar 2025 10:00:00 +0000\r\n' +
    'Message-ID: <late@example.net>\r\n' +
    'Return-Path: <bounce@example.net>\r\n' +
    'X-Mailer: not kept\r\n' +
    'Subject: Rechnung =?UTF-8?Q?f=C3=BCr_M=C3=A4rz?=\r\n';
  const message = Buffer.from(`${received(2700)}${tail}\r\nbody\r\n`);

  it.each([1, 7, 1500, 65_536, message.length])(
    'finds Subject, From, To, Cc, Date, Message-ID and Return-Path after 300 KB of Received lines (chunks of %i)',
    (chunkSize) => {
      expect(message.length).toBeGreaterThan(300_000);
      const collector = collect(message, chunkSize);
      expect(collector.truncated).toBe(true);
      expect(collector.complete).toBe(true);
      const headerBytes = collector.headerBytes();
      expect(headerBytes.length).toBeLessThan(DEFAULT_MAX_HEADER_BYTES + 2 * KiB);
      const { mail } = notify(collector);
      expect(mail.headersTruncated).toBe(true);
      expect(mail.commonHeaders).toEqual({
        returnPath: 'bounce@example.net',
        from: ['Jürgen <juergen@example.net>'],
        to: ['a@example.com', 'b@example.com'],
        cc: ['c@example.com'],
        date: 'Sat, 1 Mar 2025 10:00:00 +0000',
        messageId: '<late@example.net>',
        subject: 'Rechnung für März',
      });
      expect(mail.destination).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
      expect(mail.headers.some((field) => field.name === 'X-Mailer')).toBe(false);
      // The fields of the kept part stay whole and in order, the late ones follow.
      expect(mail.headers[0]?.name).toBe('Received');
      expect(mail.headers.at(-1)).toEqual({
        name: 'Subject',
        value: 'Rechnung =?UTF-8?Q?f=C3=BCr_M=C3=A4rz?=',
      });
    },
  );

  it('keeps a wanted field the cut went through, whole', () => {
    const prefix = 'x'.repeat(100);
    const subject = `Subject: ${'s'.repeat(200)}\r\n`;
    const bytes = Buffer.from(`X-Filler: ${prefix}\r\n${subject}\r\nbody`);
    const collector = new HeaderCollector(bytes.indexOf('Subject') + 20);
    collector.write(bytes);
    expect(collector.truncated).toBe(true);
    expect(notify(collector).mail.commonHeaders.subject).toBe('s'.repeat(200));
  });

  it('keeps only the first of each wanted field and cuts each at LATE_FIELD_MAX_BYTES on a whole character', () => {
    const late = new LateFieldCollector();
    const huge = `Subject: ${'ü'.repeat(LATE_FIELD_MAX_BYTES)}\r\n`;
    late.write(Buffer.from(`${huge}Subject: second\r\nTo: x@example.com\r\n\r\nbody`));
    expect(late.ended).toBe(true);
    const kept = late.fieldBytes();
    expect(kept.length).toBeLessThanOrEqual(LATE_FIELD_MAX_BYTES + 2 + 'To: x@example.com\r\n'.length);
    const text = kept.toString('utf8');
    expect(text).not.toContain('\ufffd');
    expect(text).not.toContain('second');
    expect(text).toMatch(/^Subject: ü+\r\nTo: x@example.com\r\n$/);
  });

  it('holds bounded memory for a many-MiB header section of wanted fields', () => {
    const collector = new HeaderCollector();
    const line = Buffer.from(`To: ${'a'.repeat(90)}@example.com\r\n Subject: folded\r\n`);
    for (let i = 0; i < 40_000; i++) collector.write(line); // ~4.6 MB
    collector.write(Buffer.from('\r\n'));
    expect(collector.complete).toBe(true);
    expect(collector.headerBytes().length).toBeLessThanOrEqual(
      DEFAULT_MAX_HEADER_BYTES + 10 * (LATE_FIELD_MAX_BYTES + 2),
    );
  });

  it('finds the same late fields however the bytes are chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(message.length), { maxLength: 20 }), (cuts) => {
        const collector = new HeaderCollector(4096);
        const points = [...new Set([0, ...cuts, message.length])].sort((a, b) => a - b);
        for (let i = 1; i < points.length; i++) collector.write(message.subarray(points[i - 1], points[i]));
        const whole = new HeaderCollector(4096);
        whole.write(message);
        expect(collector.headerBytes()).toEqual(whole.headerBytes());
      }),
      { numRuns: 25 },
    );
  });
});
