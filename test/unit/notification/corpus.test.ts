/**
 * Every message of the shared mail corpus gets a notification that satisfies the published schema and fits
 * in one SQS message; a few known subjects decode to the text the message really carries.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { buildNotification, NOTIFICATION_MAX_BYTES } from '../../../lib/notification/build.ts';
import { DEFAULT_MAX_HEADER_BYTES, HeaderCollector } from '../../../lib/notification/header-section.ts';
import type { ReceivedNotification } from '../../../lib/notification/types.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const corpusDir = process.env.MAIL_CORPUS ?? path.resolve(repoRoot, '../shared/corpus');
const corpusPresent = existsSync(corpusDir);
if (!corpusPresent && process.env.CI === 'true') {
  throw new Error(`mail corpus not found at ${corpusDir} (set MAIL_CORPUS)`);
}
const corpusFiles = corpusPresent ? readdirSync(corpusDir).filter((name) => name.endsWith('.eml')) : [];

const schema = JSON.parse(readFileSync(path.join(repoRoot, 'schema/notification.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** What the pipeline does: stream the message through a HeaderCollector, then build. */
function notify(file: string, trustedAuthservId?: string): { body: string; document: ReceivedNotification } {
  const message = readFileSync(path.join(corpusDir, file));
  const collector = new HeaderCollector(DEFAULT_MAX_HEADER_BYTES);
  for (let offset = 0; offset < message.length && !collector.done; offset += 16 * 1024) {
    collector.write(message.subarray(offset, offset + 16 * 1024));
  }
  const { body } = buildNotification({
    mailboxId: 'corpus',
    host: 'pop.example.com',
    username: 'corpus@example.com',
    uidl: file.length <= 70 ? file : undefined,
    size: message.length,
    sha256: createHash('sha256').update(message).digest('hex'),
    retrievedAt: new Date('2025-01-01T00:00:00.000Z'),
    processingTimeMillis: 12,
    bucketName: 'corpus-bucket',
    objectKey: `corpus/${file}`,
    headerBytes: collector.headerBytes(),
    headerSectionTruncated: collector.truncated,
    trustedAuthservId,
  });
  return { body, document: JSON.parse(body) as ReceivedNotification };
}

describe.skipIf(!corpusPresent)('notifications for the mail corpus', () => {
  it('finds the corpus', () => {
    expect(corpusFiles.length).toBeGreaterThan(100);
  });

  it.each(corpusFiles)('%s: valid against the schema and under the SQS limit', (file) => {
    const { body, document } = notify(file);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(NOTIFICATION_MAX_BYTES);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  // Trusting the authserv-id of each message's topmost Authentication-Results field, so verdicts other
  // than DISABLED (and dmarcPolicy) are checked against the schema too.
  const withAuthResults = corpusFiles.flatMap((file) => {
    const id = /^Authentication-Results:[ \t]*([^\s;]+)/im.exec(
      readFileSync(path.join(corpusDir, file)).toString('latin1'),
    )?.[1];
    return id === undefined ? [] : [[file, id] as const];
  });

  it.each(withAuthResults)('%s: valid against the schema trusting %s', (file, id) => {
    const { document } = notify(file, id);
    expect(validate(document), JSON.stringify(validate.errors)).toBe(true);
  });

  it('fills verdicts other than DISABLED for corpus messages with Authentication-Results', () => {
    expect(withAuthResults.length).toBeGreaterThanOrEqual(5);
    const statuses = withAuthResults.map(
      ([file, id]) => notify(file, id).document.receipt.dkimVerdict.status,
    );
    expect(statuses).toContain('PASS');
  });

  // Subjects checked by decoding the encoded words of each message by hand (base64/QP, then iconv).
  it.each([
    [
      'mimekit__UnitTests__TestData__messages__japanese.txt.eml',
      '日本語メールテスト (testing Japanese emails)',
    ], // ISO-2022-JP, B
    ['spamassassin__t__data__nice__cjk__gb2312.2.eml', 'RE: 装硬碟问题'], // GB2312, Q
    ['spamassassin__t__data__mime-subject.txt.eml', '[Demuseum] Re: Multimedia für Preussen'], // ISO-8859-1, Q
    [
      'spamassassin__t__data__nice__unicode2.eml', // UTF-8, B, two folded encoded words
      '【重要訊息】台電105年3月電費，委託金融機構扣繳成功電子繳費憑證(電號07487616730)',
    ],
  ])('%s: the subject decodes to %s', (file, subject) => {
    const { document } = notify(file);
    expect(document.mail.commonHeaders.subject).toBe(subject);
    // The raw header keeps the encoded words.
    const raw = document.mail.headers.find((field) => field.name.toLowerCase() === 'subject');
    expect(raw?.value).toContain('=?');
  });
});
