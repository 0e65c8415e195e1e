/** pop3.utf8 in the notification: whether the session ran in UTF-8 mode (RFC 6856); valid per the schema. */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildNotification, type NotificationInput } from '../../../lib/notification/build.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../../schema/notification.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

const input: NotificationInput = {
  mailboxId: 'support',
  host: 'pop.example.com',
  username: 'support@example.com',
  uidl: 'a1',
  size: 10,
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  retrievedAt: new Date('2025-03-01T10:00:00.000Z'),
  processingTimeMillis: 5,
  bucketName: 'mail',
  objectKey: 'support/a1.eml',
  headerBytes: Buffer.from('Subject: Grüße\r\n\r\n', 'utf8'),
};

describe('pop3.utf8', () => {
  it.each([true, false])('is written as given (%s) and the document matches the schema', (utf8) => {
    const document = JSON.parse(buildNotification({ ...input, utf8 }).body);
    expect(document.pop3.utf8).toBe(utf8);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('is left out when not known', () => {
    const document = JSON.parse(buildNotification(input).body);
    expect('utf8' in document.pop3).toBe(false);
    expect(validate(document)).toBe(true);
  });

  it('a value other than a boolean is refused by the schema', () => {
    const document = JSON.parse(buildNotification({ ...input, utf8: true }).body);
    document.pop3.utf8 = 'yes';
    expect(validate(document)).toBe(false);
  });
});
