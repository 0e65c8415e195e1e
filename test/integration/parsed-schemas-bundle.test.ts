/**
 * What the shipped code writes satisfies the published parse schemas: the BUILT parse bundle (invoked as
 * Lambda invokes it, against S3 and SQS on fauxqs, with an event bus) stores documents that validate
 * against schema/parsed-document.schema.json and sends Email Parsed events, on the queue and on the bus,
 * that validate against schema/email-parsed-event.schema.json; the BUILT CLI's `parse` writes a document
 * that validates. Corpus messages with attachments, one without, and one the parser refuses.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import { buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type CorpusMessage, describeWithCorpus, loadCorpus } from '../support/corpus.ts';
import { startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
import { startFauxqs } from '../support/fauxqs.ts';
import { buildFunctionBundles, captureOutput, lambdaContext } from '../support/lambda-harness.ts';
import { expectValid, type Json, validDocument, validEvent } from '../support/parse-schemas.ts';
import { s3ObjectCreatedRecord } from '../support/s3-event-record.ts';

interface ParseModule {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
}

const BUCKET = 'mail';
const PREFIX = 'mail/';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A header section past mailparser's 1 MiB: the parser gives up, the document says why. */
const refused = Buffer.from(`Subject: huge\r\nX-Long: ${'a'.repeat(2 * 1024 * 1024)}\r\n\r\nbody\r\n`);

/** Some with attachments, some without: documents with and without parts. */
function sample(): CorpusMessage[] {
  const corpus = loadCorpus();
  const withParts = corpus.filter((message) => message.bytes.includes('Content-Disposition: attachment'));
  const without = corpus.filter((message) => !message.bytes.includes('multipart'));
  return [...withParts.slice(0, 5), ...without.slice(0, 3)];
}

describeWithCorpus('parse schemas through the built bundles', () => {
  let outDir: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'parse-schemas-'));
  });

  afterAll(async () => {
    process.env = savedEnv;
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('the parse function: every stored document and every event, queued and on the bus, validates', async () => {
    const [bundles, aws, bus] = await Promise.all([
      buildFunctionBundles(outDir),
      startFauxqs(),
      startEventBridgeEndpoint(),
    ]);
    try {
      await aws.createBucket(BUCKET);
      const parsedQueueUrl = await aws.createQueue('parsed');
      Object.assign(process.env, aws.env, {
        MESSAGE_BUCKET: BUCKET,
        KEY_PREFIX: PREFIX,
        PARSED_QUEUE_URL: parsedQueueUrl,
        POWERTOOLS_SERVICE_NAME: 'parse-schemas-test',
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
        EVENT_BUS_NAME: 'mail-events',
      });
      const parse = (await import(pathToFileURL(bundles.parse).href)) as ParseModule;
      const messages = [...sample().map((message) => message.bytes), refused];
      const rawKeys = await Promise.all(
        messages.map(async (bytes, i) => {
          const key = objectKeyFor(PREFIX, 'box', `u ${i}`, sha256(bytes));
          await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
          return key;
        }),
      );
      const output = captureOutput();
      try {
        const response = await parse.handler(
          { Records: rawKeys.map((key, i) => s3ObjectCreatedRecord(BUCKET, key, i)) },
          lambdaContext('parse', 60_000),
        );
        expect(response.batchItemFailures).toEqual([]);
      } finally {
        output.stop();
      }

      const documents = await Promise.all(
        rawKeys.map(async (key) => {
          const stored = await aws.getObject(BUCKET, `${key.slice(0, -'.eml'.length)}.parsed/message.json`);
          return JSON.parse(stored.toString()) as Json;
        }),
      );
      for (const document of documents) expectValid(validDocument, document);
      expect(documents.map((document) => document.status)).toContain('failed');
      expect(documents.some((document) => (document.parts as unknown[]).length > 0)).toBe(true);

      const queued = (await aws.receiveAll(parsedQueueUrl)).map((message) => JSON.parse(message.Body!));
      expect(queued).toHaveLength(rawKeys.length);
      for (const event of queued) expectValid(validEvent, event);
      expect(bus.events).toHaveLength(rawKeys.length);
      for (const entry of bus.events) {
        const event = {
          source: entry.source,
          'detail-type': entry.detailType,
          detail: JSON.parse(entry.detail),
        };
        expectValid(validEvent, event);
      }
    } finally {
      await Promise.all([aws.stop(), bus.close()]);
    }
  }, 240_000);

  it('the CLI: the document `parse` writes validates, parsed or refused', async () => {
    const cli = await buildCliBundle('cli-parse-schemas-');
    try {
      for (const [i, bytes] of [...sample().map((message) => message.bytes), refused].entries()) {
        const file = path.join(cli.dir, `m${i}.eml`);
        await writeFile(file, bytes);
        const out = path.join(cli.dir, `out-${i}`);
        const run = await runBuiltCli(cli.runner, ['parse', file, '--out', out], { env: process.env });
        expect(run.status).toBe(bytes === refused ? 1 : 0);
        expectValid(validDocument, JSON.parse(await readFile(path.join(out, 'message.json'), 'utf8')));
      }
    } finally {
      await cli.remove();
    }
  }, 240_000);
});
