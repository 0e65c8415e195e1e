/**
 * The BUILT parse bundle within its size line (scripts/build.mjs MAX_FUNCTION_BYTES), with what it leaves
 * out (scripts/deferred-dependencies.mjs) beside it and really found there: messages in charsets that need
 * iconv-lite's deferred tables (Big5) or encoding-japanese (ISO-2022-JP), in KOI8-R and GB2312, and HTML
 * without a text part (html-to-text), parsed by the bundle's handler against S3 and SQS (fauxqs), get the
 * subject, text and HTML simpleParser gives in this process.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import type { ParsedDocument } from '../../lib/parsed/document.ts';
import { type CorpusMessage, describeWithCorpus, loadCorpus } from '../support/corpus.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { buildFunctionBundles, captureOutput, lambdaContext } from '../support/lambda-harness.ts';

interface ParseModule {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
}

/** scripts/build.mjs MAX_FUNCTION_BYTES: the line every function bundle is held to. */
const MAX_FUNCTION_BYTES = 1024 * 1024;
const BUCKET = 'mail';
const PREFIX = 'mail/';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Corpus messages whose names say their charset. */
const LEGACY_CHARSET_MESSAGES = [
  'spamassassin__t__data__nice__cjk__big5-base64.1.eml',
  'spamassassin__t__data__nice__cjk__iso-2022-jp.1.eml',
  'mimekit__UnitTests__TestData__messages__japanese.txt.eml',
  'spamassassin__t__data__nice__cjk__gb2312.1.eml',
  'mimekit__UnitTests__TestData__tnef__ukr.eml',
];

/** A message whose whole body is one text/html part: its text is made by html-to-text. */
function isHtmlOnly(message: CorpusMessage): boolean {
  const text = message.bytes.toString('latin1');
  const header = text.slice(0, text.search(/\r?\n\r?\n/));
  return /^content-type:\s*text\/html/im.test(header);
}

function s3Event(keys: readonly string[]): SQSEvent {
  return {
    Records: keys.map((key, index) => ({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body: JSON.stringify({
        Records: [
          {
            eventSource: 'aws:s3',
            eventName: 'ObjectCreated:Put',
            s3: { bucket: { name: BUCKET }, object: { key: encodeURIComponent(key).replaceAll('%2F', '/') } },
          },
        ],
      }),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'S3',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:parse',
      awsRegion: 'us-east-1',
    })),
  };
}

describeWithCorpus('parse bundle: its size, and what it loads on demand', () => {
  let aws: Fauxqs;
  let outDir: string;
  let bundleFile: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'parse-deferred-'));
    const [bundles, started] = await Promise.all([buildFunctionBundles(outDir), startFauxqs()]);
    bundleFile = bundles.parse;
    aws = started;
    await aws.createBucket(BUCKET);
    Object.assign(process.env, aws.env, {
      MESSAGE_BUCKET: BUCKET,
      KEY_PREFIX: PREFIX,
      PARSED_QUEUE_URL: await aws.createQueue('parsed'),
      POWERTOOLS_SERVICE_NAME: 'parse-deferred-test',
    });
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  test('the bundle is within the size line; what it leaves out is beside it', () => {
    expect(statSync(bundleFile).size).toBeLessThanOrEqual(MAX_FUNCTION_BYTES);
    const beside = path.dirname(bundleFile);
    for (const file of [
      'node_modules/iconv-lite/encodings/tables/cp950.json',
      'node_modules/encoding-japanese/index.cjs',
      'node_modules/html-to-text/index.cjs',
    ]) {
      expect(existsSync(path.join(beside, file)), file).toBe(true);
    }
    const code = readFileSync(bundleFile, 'utf8');
    expect(code).toContain('"iconv-lite/encodings/tables/cp950.json"');
  });

  test('legacy charsets and HTML-only mail decode through the bundle as simpleParser decodes them', async () => {
    const corpus = loadCorpus();
    const chosen = [
      ...LEGACY_CHARSET_MESSAGES.map((name) => {
        const message = corpus.find((m) => m.name === name);
        if (message === undefined) throw new Error(`${name} is not in the corpus`);
        return message;
      }),
      ...corpus.filter(isHtmlOnly).slice(0, 2),
    ];
    expect(chosen.length).toBe(LEGACY_CHARSET_MESSAGES.length + 2);
    const keys = await Promise.all(
      chosen.map(async (message, index) => {
        const key = objectKeyFor(PREFIX, 'box', `u${index}`, sha256(message.bytes));
        await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: message.bytes }));
        return key;
      }),
    );
    const parse = (await import(pathToFileURL(bundleFile).href)) as ParseModule;
    const output = captureOutput();
    let response: SQSBatchResponse;
    try {
      response = await parse.handler(s3Event(keys), lambdaContext('parse', 60_000));
    } finally {
      output.stop();
    }
    expect(response.batchItemFailures).toEqual([]);
    for (const [index, message] of chosen.entries()) {
      const documentKey = `${keys[index]!.slice(0, -'.eml'.length)}.parsed/message.json`;
      const document = JSON.parse((await aws.getObject(BUCKET, documentKey)).toString()) as ParsedDocument;
      const reference = await simpleParser(message.bytes);
      expect(document.status, message.name).toBe('parsed');
      expect(document.subject, message.name).toBe(reference.subject ?? null);
      expect(document.text?.content ?? null, message.name).toBe(reference.text ?? null);
      expect(document.html?.content ?? null, message.name).toBe(reference.html || null);
      expect(document.text?.replacementCharacters ?? 0, message.name).toBe(
        (reference.text ?? '').split('\uFFFD').length - 1,
      );
    }
  }, 120_000);
});
