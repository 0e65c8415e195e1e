/**
 * The published schemas of the parse stage (schema/parsed-document.schema.json,
 * schema/email-parsed-event.schema.json) against what the parse really writes: every document and event of
 * the corpus and a failed document validate; a document with a field missing, of the wrong type or unknown
 * does not; and the schemas name every key real documents and events have, so a field added to the code
 * and not to the schema fails here.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { emailParsedEvent } from '../../../lib/parsed/event.ts';
import { parsedFolderFor } from '../../../lib/parsed/keys.ts';
import { DEFAULT_PARSED_LIMITS, type ParsedLimits } from '../../../lib/parsed/limits.ts';
import { parseMessage } from '../../../lib/parsed/parse-message.ts';
import { corpusAvailable, describeWithCorpus, loadCorpus } from '../../support/corpus.ts';
import {
  ajv,
  documentSchema,
  eventSchema,
  expectValid,
  type Json,
  validDocument,
  validEvent,
} from '../../support/parse-schemas.ts';
import { MemoryPartSink } from '../../support/parsed-sink.ts';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');

/** As the parse stage does it: the raw object's real key, size and SHA-256, parts under its folder. */
async function parseStored(
  bytes: Buffer,
  limits: ParsedLimits = DEFAULT_PARSED_LIMITS,
): Promise<{ document: Json; event: Json }> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const rawKey = `mail/corpus/uidl/1/${sha256}.eml`;
  const folder = parsedFolderFor(rawKey)!;
  const document = await parseMessage({
    body: Readable.from([bytes]),
    raw: { key: rawKey, size: bytes.length, sha256 },
    folder,
    sink: new MemoryPartSink(),
    limits,
  });
  const where = { mailboxId: 'corpus', bucket: 'corpus-bucket', documentKey: `${folder}message.json` };
  const event = emailParsedEvent(document, where, limits);
  // What a consumer reads: the JSON as stored and as sent, not the objects in memory.
  return { document: JSON.parse(JSON.stringify(document)), event: JSON.parse(JSON.stringify(event)) };
}

/** Every path of object keys in a value (array elements under `[]`), e.g. `parts[].sha256`. */
function keyPaths(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => keyPaths(item, `${at}[]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const here = at === '' ? key : `${at}.${key}`;
    return [here, ...keyPaths(inner, here)];
  });
}

/** Every path of properties a schema names, following $ref, anyOf and array items as keyPaths does. */
function schemaPaths(root: Json, node: Json = root, at = ''): string[] {
  const ref = node.$ref as string | undefined;
  if (ref) return schemaPaths(root, (root.$defs as Record<string, Json>)[ref.replace('#/$defs/', '')]!, at);
  const alternatives = (node.anyOf as Json[] | undefined) ?? [];
  const items = node.items as Json | undefined;
  const properties = (node.properties as Record<string, Json> | undefined) ?? {};
  return [
    ...alternatives.flatMap((alternative) => schemaPaths(root, alternative, at)),
    ...(items ? schemaPaths(root, items, `${at}[]`) : []),
    ...Object.entries(properties).flatMap(([key, inner]) => {
      const here = at === '' ? key : `${at}.${key}`;
      return [here, ...schemaPaths(root, inner, here)];
    }),
  ];
}

/** A message mailparser refuses: a header section past its 1 MiB. */
const refused = crlf(['Subject: big header', `X-Long: ${'a'.repeat(2 * 1024 * 1024)}`, '', 'body', '']);

/** One message that fills every optional field: cuts of each kind, parts inline and attached, a Cc. */
const everyField = crlf([
  'From: "A" <a@example.com>',
  'To: b@example.com',
  'Cc: c@example.com',
  'Reply-To: r@example.com',
  'Subject: every field',
  'Date: Sat, 1 Mar 2025 10:59:57 +0100',
  'Message-ID: <m1@example.com>',
  `X-Long: ${'v'.repeat(DEFAULT_PARSED_LIMITS.maxHeaderValueChars + 10)}`,
  'Content-Type: multipart/mixed; boundary=b',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'x'.repeat(DEFAULT_PARSED_LIMITS.maxBodyBytes + 10),
  '--b',
  'Content-Type: text/html; charset=utf-8',
  '',
  `<p>${'y'.repeat(DEFAULT_PARSED_LIMITS.maxBodyBytes + 10)}</p>`,
  '--b',
  'Content-Type: image/png',
  'Content-Disposition: inline',
  'Content-ID: <img1@example.com>',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('png bytes').toString('base64'),
  '--b',
  'Content-Type: application/pdf',
  'Content-Disposition: attachment; filename="r.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4').toString('base64'),
  '--b--',
  '',
]);

describe('parsed document and Email Parsed event schemas', () => {
  let failed: { document: Json; event: Json };
  let full: { document: Json; event: Json };
  let capped: { document: Json; event: Json };
  beforeAll(async () => {
    failed = await parseStored(refused);
    full = await parseStored(everyField);
    // The same message under caps it passes: the cuts the defaults leave out of `full`.
    capped = await parseStored(everyField, {
      ...DEFAULT_PARSED_LIMITS,
      maxTextPartsBytes: 100,
      maxParts: 1,
      maxHeaderFields: 3,
    });
  });

  it('are valid JSON Schemas (draft 2020-12)', () => {
    expect(ajv.validateSchema(documentSchema)).toBe(true);
    expect(ajv.validateSchema(eventSchema)).toBe(true);
  });

  it('a failed document and its event validate, with the reason from PARSE_FAILURE_REASONS', () => {
    expect(failed.document.status).toBe('failed');
    expectValid(validDocument, failed.document);
    expectValid(validEvent, failed.event);
    expect((failed.event.detail as Json).failureReason).toBe('parser-error');
  });

  it('a document filling every optional field validates, and so does its event', () => {
    expect(full.document.cut).toMatchObject({ text: true, html: true, headerValuesCut: 1 });
    expect((full.document.parts as unknown[]).length).toBe(2);
    expectValid(validDocument, full.document);
    expectValid(validEvent, full.event);
  });

  it('a document cut by every cap validates, and so does its event', () => {
    expect(Object.keys(capped.document.cut as Json).sort()).toEqual([
      'headersNotListed',
      'partsNotStored',
      'textBytesNotParsed',
    ]);
    expectValid(validDocument, capped.document);
    expectValid(validEvent, capped.event);
  });

  it.each([
    ['a missing required field', (d: Json) => delete d.subject],
    ['a missing nested field', (d: Json) => delete (d.raw as Json).sha256],
    ['a wrong type', (d: Json) => (d.version = '1')],
    ['a wrong nested type', (d: Json) => ((d.parts as Json[])[0]!.size = '9')],
    ['an unknown field', (d: Json) => (d.parsedAt = '2025-01-01T00:00:00.000Z')],
    ['an unknown nested field', (d: Json) => ((d.text as Json).charset = 'utf-8')],
    ['an unknown cut', (d: Json) => ((d.cut as Json).attachments = true)],
    ['a status outside the enum', (d: Json) => (d.status = 'partial')],
    ['a failure reason outside the enum', (d: Json) => (d.failure = { reason: 'timeout', detail: 'x' })],
    ['a raw hash that is not hex', (d: Json) => ((d.raw as Json).sha256 = 'unused')],
    ['a part hash that is not hex', (d: Json) => ((d.parts as Json[])[0]!.sha256 = 'Z'.repeat(64))],
    ['a date that is not ISO 8601 UTC', (d: Json) => (d.date = 'Sat, 1 Mar 2025 10:59:57 +0100')],
  ])('a document with %s does not validate', (_what, mutate) => {
    const document = structuredClone(full.document);
    mutate(document);
    expect(validDocument(document)).toBe(false);
  });

  it('a failed document without its failure, or a parsed one with one, does not validate', () => {
    const withoutFailure = structuredClone(failed.document);
    delete withoutFailure.failure;
    expect(validDocument(withoutFailure)).toBe(false);
    const parsedWithFailure = { ...structuredClone(full.document), failure: failed.document.failure };
    expect(validDocument(parsedWithFailure)).toBe(false);
  });

  it.each([
    ['a missing required field', (e: Json) => delete (e.detail as Json).documentKey],
    ['a wrong type', (e: Json) => ((e.detail as Json).recipientsNotListed = '0')],
    ['an unknown field', (e: Json) => ((e.detail as Json).messageId = '<m1@example.com>')],
    ['an unknown attachment field', (e: Json) => (((e.detail as Json).attachments as Json[])[0]!.key = 'k')],
    ['another detail-type', (e: Json) => (e['detail-type'] = 'Email Received')],
    [
      'a failure reason on a parsed message',
      (e: Json) => ((e.detail as Json).failureReason = 'parser-error'),
    ],
  ])('an event with %s does not validate', (_what, mutate) => {
    const event = structuredClone(full.event);
    mutate(event);
    expect(validEvent(event)).toBe(false);
  });

  it('name every key a real document and event have, and none they never have', () => {
    const real = [full, capped, failed];
    const documentKeys = new Set(real.flatMap(({ document }) => keyPaths(document)));
    expect(new Set(schemaPaths(documentSchema))).toEqual(documentKeys);
    const eventKeys = new Set(real.flatMap(({ event }) => keyPaths(event)));
    expect(new Set(schemaPaths(eventSchema))).toEqual(eventKeys);
  });

  it('list the failure reasons of the code, and no other', async () => {
    const { PARSE_FAILURE_REASONS } = await import('../../../lib/parsed/document.ts');
    const reasons = (schema: Json) => ((schema.$defs as Record<string, Json>).failureReason as Json).enum;
    expect(reasons(documentSchema)).toEqual([...PARSE_FAILURE_REASONS]);
    expect(reasons(eventSchema)).toEqual([...PARSE_FAILURE_REASONS]);
  });
});

describeWithCorpus('every document and event the parse writes for the corpus validates', () => {
  // Read only when the corpus is there: describe.skip still runs this body, and the tests above need no corpus.
  const corpus = corpusAvailable() ? loadCorpus() : [];

  it.each(corpus.map((message) => [message.name, message.bytes] as const))('%s', async (_name, bytes) => {
    const { document, event } = await parseStored(bytes);
    expectValid(validDocument, document);
    expectValid(validEvent, event);
    // No key the schemas do not name, whatever the message holds.
    const named = new Set(schemaPaths(documentSchema));
    expect(keyPaths(document).filter((key) => !named.has(key))).toEqual([]);
    const namedInEvent = new Set(schemaPaths(eventSchema));
    expect(keyPaths(event).filter((key) => !namedInEvent.has(key))).toEqual([]);
  });
});
