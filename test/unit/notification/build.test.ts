import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildNotification,
  NOTIFICATION_MAX_BYTES,
  type NotificationInput,
} from '../../../lib/notification/build.ts';
import type { ReceivedNotification } from '../../../lib/notification/types.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../../schema/notification.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function input(header: string | Buffer, overrides: Partial<NotificationInput> = {}): NotificationInput {
  return {
    mailboxId: 'support',
    host: 'pop.example.com',
    username: 'support@example.com',
    uidl: '000001a2',
    size: 1234,
    sha256: SHA,
    retrievedAt: new Date('2025-03-01T10:00:00.000Z'),
    processingTimeMillis: 250,
    bucketName: 'mail-archive',
    objectKey: 'support/2025/03/01/000001a2.eml',
    headerBytes: typeof header === 'string' ? Buffer.from(header, 'utf8') : header,
    ...overrides,
  };
}

function build(header: string | Buffer, overrides: Partial<NotificationInput> = {}, maxBytes?: number) {
  const built = buildNotification(input(header, overrides), maxBytes === undefined ? {} : { maxBytes });
  const document = JSON.parse(built.body) as ReceivedNotification;
  if (!validate(document)) throw new Error(JSON.stringify(validate.errors));
  return { ...built, document };
}

// Shaped like the message in the SES "alert notification" documentation example, with folded lines.
const sesLikeMessage =
  'Return-Path: <0000014f-bounce@amazonses.example>\r\n' +
  'Received: from a9-183.smtp-out.example (a9-183.smtp-out.example [192.0.2.183])\r\n' +
  ' by inbound-smtp.example with SMTP id d6iitobk75ur44p8kdnnp7g2n800\r\n' +
  ' for recipient@example.com;\r\n' +
  ' Fri, 11 Sep 2015 20:32:33 +0000 (UTC)\r\n' +
  'DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple;\r\n' +
  '\ts=selector; d=amazonses.example; t=1442003552;\r\n' +
  '\th=From:To:Subject;\r\n' +
  'From: "Sender Name" <sender@example.com>\r\n' +
  'To: recipient@example.com\r\n' +
  'Subject: Example subject\r\n' +
  'MIME-Version: 1.0\r\n' +
  'Date: Fri, 11 Sep 2015 20:32:32 +0000\r\n' +
  'Message-ID: <61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com>\r\n' +
  '\r\n';

describe('buildNotification: the SES "Received" shape', () => {
  const { document, headersTruncated } = build(sesLikeMessage);

  it('lists the headers in order, unfolded, as SES does', () => {
    expect(headersTruncated).toBe(false);
    expect(document.mail.headersTruncated).toBe(false);
    expect(document.mail.headers).toEqual([
      { name: 'Return-Path', value: '<0000014f-bounce@amazonses.example>' },
      {
        name: 'Received',
        value:
          'from a9-183.smtp-out.example (a9-183.smtp-out.example [192.0.2.183]) by inbound-smtp.example with ' +
          'SMTP id d6iitobk75ur44p8kdnnp7g2n800 for recipient@example.com; Fri, 11 Sep 2015 20:32:33 +0000 (UTC)',
      },
      {
        name: 'DKIM-Signature',
        value:
          'v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple; s=selector; d=amazonses.example; t=1442003552; ' +
          'h=From:To:Subject;',
      },
      { name: 'From', value: '"Sender Name" <sender@example.com>' },
      { name: 'To', value: 'recipient@example.com' },
      { name: 'Subject', value: 'Example subject' },
      { name: 'MIME-Version', value: '1.0' },
      { name: 'Date', value: 'Fri, 11 Sep 2015 20:32:32 +0000' },
      { name: 'Message-ID', value: '<61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com>' },
    ]);
  });

  it('fills commonHeaders the way SES does: bare returnPath, display-string lists, messageId as written', () => {
    expect(document.mail.commonHeaders).toEqual({
      returnPath: '0000014f-bounce@amazonses.example',
      from: ['Sender Name <sender@example.com>'],
      date: 'Fri, 11 Sep 2015 20:32:32 +0000',
      to: ['recipient@example.com'],
      messageId: '<61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com>',
      subject: 'Example subject',
    });
  });

  it('fills mail and receipt like an SES S3-action notification, verdicts DISABLED, no topicArn', () => {
    expect(document.notificationType).toBe('Received');
    expect(document.mail).toMatchObject({
      timestamp: '2025-03-01T10:00:00.000Z',
      source: '0000014f-bounce@amazonses.example',
      messageId: '61967230-7A45-4A9D-BEC9-87CBCF2211C9@example.com',
      destination: ['recipient@example.com'],
    });
    expect(document.receipt).toEqual({
      timestamp: '2025-03-01T10:00:00.250Z',
      processingTimeMillis: 250,
      recipients: ['recipient@example.com'],
      spamVerdict: { status: 'DISABLED' },
      virusVerdict: { status: 'DISABLED' },
      spfVerdict: { status: 'DISABLED' },
      dkimVerdict: { status: 'DISABLED' },
      dmarcVerdict: { status: 'DISABLED' },
      action: { type: 'S3', bucketName: 'mail-archive', objectKey: 'support/2025/03/01/000001a2.eml' },
    });
  });

  it('adds where the message came from in `pop3`', () => {
    expect(document.pop3).toEqual({
      mailboxId: 'support',
      host: 'pop.example.com',
      username: 'support@example.com',
      uidl: '000001a2',
      size: 1234,
      sha256: SHA,
      retrievedAt: '2025-03-01T10:00:00.000Z',
    });
  });
});

describe('buildNotification: fallbacks', () => {
  it('uses the From address as source and the SHA-256 as messageId when those headers are missing', () => {
    const { document } = build(
      'From: Jane <jane@example.com>\nTo: a@example.com\nCc: B <b@example.com>\nBcc: c@example.com\n\n',
      {
        uidl: undefined,
      },
    );
    expect(document.mail.source).toBe('jane@example.com');
    expect(document.mail.messageId).toBe(SHA);
    expect(document.mail.destination).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    expect(document.receipt.recipients).toEqual(document.mail.destination);
    expect(document.mail.commonHeaders).toEqual({
      from: ['Jane <jane@example.com>'],
      to: ['a@example.com'],
      cc: ['B <b@example.com>'],
      bcc: ['c@example.com'],
    });
    expect(document.pop3.uidl).toBeNull();
  });

  it('decodes the subject in commonHeaders only', () => {
    const { document } = build('Subject: =?ISO-8859-1?Q?Gr=FC=DFe?= aus =?UTF-8?B?S8O2bG4=?=\r\n\r\n');
    expect(document.mail.headers).toEqual([
      { name: 'Subject', value: '=?ISO-8859-1?Q?Gr=FC=DFe?= aus =?UTF-8?B?S8O2bG4=?=' },
    ]);
    expect(document.mail.commonHeaders.subject).toBe('Grüße aus Köln');
  });

  it('builds a notification for no header at all', () => {
    const { document } = build('');
    expect(document.mail).toMatchObject({
      source: '',
      messageId: SHA,
      destination: [],
      headers: [],
      commonHeaders: {},
    });
  });

  it('says headersTruncated when the header section was cut, and drops the cut field', () => {
    const { document, headersTruncated } = build('Subject: complete\r\nX-Cut: half a val', {
      headerSectionTruncated: true,
    });
    expect(headersTruncated).toBe(true);
    expect(document.mail.headersTruncated).toBe(true);
    expect(document.mail.headers).toEqual([{ name: 'Subject', value: 'complete' }]);
  });

  it('writes U+FFFE and U+FFFF, which SQS refuses in a message body, as escapes that parse back to them', () => {
    const { body, document } = build('Subject: a\uFFFFb\uFFFEc\n\n');
    expect(body).toMatch(/^[\x20-\x7e]*$/);
    expect(body).toContain('a\\uffffb\\ufffec');
    expect(document.mail.commonHeaders.subject).toBe('a\uFFFFb\uFFFEc');
  });

  it('survives any bytes as a header section and still produces a valid document', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (random, cut) => {
        const { body } = build(Buffer.from(random), { headerSectionTruncated: cut });
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(NOTIFICATION_MAX_BYTES);
      }),
      { numRuns: 300 },
    );
  });
});

describe('buildNotification: staying under the SQS limit', () => {
  const received = (i: number) =>
    `Received: from relay${i}.example by relay${i + 1}.example; Sat, 1 Mar 2025\r\n`;

  it('fits a message with a 200 KB header section in 256 KiB by dropping trailing headers', () => {
    // A 200 KB subject is counted twice (headers and commonHeaders.subject): too big with all headers.
    const subject = 'x'.repeat(200 * 1024);
    const header = `From: a@example.com\r\nSubject: ${subject}\r\n${Array.from({ length: 50 }, (_, i) => received(i)).join('')}\r\n`;
    const { body, document, headersTruncated } = build(header);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(NOTIFICATION_MAX_BYTES);
    expect(headersTruncated).toBe(true);
    expect(document.mail.headersTruncated).toBe(true);
    expect(document.mail.commonHeaders.subject).toBe(subject);
    expect(document.mail.headers.map((field) => field.name)).toEqual(['From']);
  });

  it('keeps as many leading headers as fit, in order', () => {
    const header = `${Array.from({ length: 40 }, (_, i) => received(i)).join('')}\r\n`;
    const all = build(header).document.mail.headers;
    const full = build(header).body;
    const { body, document } = build(header, {}, Buffer.byteLength(full) - 1);
    expect(Buffer.byteLength(body)).toBeLessThan(Buffer.byteLength(full));
    expect(document.mail.headers).toEqual(all.slice(0, all.length - 1));
  });

  it('cuts commonHeaders, destination and recipients when dropping headers is not enough (a 200 KB To header)', () => {
    const recipients = Array.from({ length: 8000 }, (_, i) => `Recipient ${i} <recipient-${i}@example.com>`);
    const header = `To: ${recipients.join(',\r\n ')}\r\nSubject: hello\r\n\r\n`;
    expect(header.length).toBeGreaterThan(200 * 1024);
    const { body, document } = build(header);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(NOTIFICATION_MAX_BYTES);
    expect(document.mail.headersTruncated).toBe(true);
    expect(document.mail.destination.length).toBeGreaterThan(0);
    expect(document.mail.destination.length).toBeLessThan(8000);
    expect(document.mail.destination[0]).toBe('recipient-0@example.com');
    expect(document.mail.commonHeaders.subject).toBe('hello');
  });

  it('gives up with a RangeError only when not even the fixed fields fit', () => {
    expect(() => buildNotification(input(sesLikeMessage), { maxBytes: 200 })).toThrow(RangeError);
  });
});
