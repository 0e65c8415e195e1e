/**
 * The parse stage as deployed: the BUILT parse bundle (scripts/build.mjs), invoked the way Lambda invokes
 * it with the S3 ObjectCreated events of stored messages (as S3 sends them: keys URL-encoded), against S3
 * and SQS (fauxqs). Each message gets its document and parts beside the raw object, each part the bytes
 * simpleParser yields; a message the parser gives up on still gets a document with the reason and counts
 * in ParseFailures; the Email Parsed event names the document; a redelivered event rewrites the same bytes
 * to the same keys.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import type { ParsedDocument } from '../../lib/parsed/document.ts';
import type { EmailParsedEvent } from '../../lib/parsed/event.ts';
import { describeWithCorpus, loadCorpus } from '../support/corpus.ts';
import { startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { buildFunctionBundles, captureOutput, lambdaContext } from '../support/lambda-harness.ts';

interface ParseModule {
  handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
}

const BUCKET = 'mail';
const PREFIX = 'mail/';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The S3 event notification S3 puts on the queue for one new object (its key URL-encoded). */
function s3EventRecord(key: string, index: number): SQSRecord {
  const encoded = encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
  const body = JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET }, object: { key: encoded } },
      },
    ],
  });
  return {
    messageId: `m-${index}`,
    receiptHandle: `r-${index}`,
    body,
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
  };
}

describeWithCorpus('parse bundle', () => {
  let aws: Fauxqs;
  let outDir: string;
  let parse: ParseModule;
  let parsedQueueUrl: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'parse-bundle-'));
    const [bundles, started] = await Promise.all([buildFunctionBundles(outDir), startFauxqs()]);
    aws = started;
    await aws.createBucket(BUCKET);
    parsedQueueUrl = await aws.createQueue('parsed');
    Object.assign(process.env, aws.env, {
      MESSAGE_BUCKET: BUCKET,
      KEY_PREFIX: PREFIX,
      PARSED_QUEUE_URL: parsedQueueUrl,
      POWERTOOLS_SERVICE_NAME: 'parse-test',
    });
    parse = (await import(pathToFileURL(bundles.parse).href)) as ParseModule;
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await aws?.stop();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  async function store(mailboxId: string, uidl: string, bytes: Buffer): Promise<string> {
    const key = objectKeyFor(PREFIX, mailboxId, uidl, sha256(bytes));
    await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
    return key;
  }

  async function invoke(keys: readonly string[]) {
    const output = captureOutput();
    try {
      const response = await parse.handler(
        { Records: keys.map((key, i) => s3EventRecord(key, i)) },
        lambdaContext('parse', 60_000),
      );
      return { response, metrics: output.json().filter((line) => '_aws' in line) };
    } finally {
      output.stop();
    }
  }

  test('every part is stored as simpleParser yields it; failures are documented; redelivery rewrites the same', async () => {
    const withParts = loadCorpus()
      .filter((message) => message.bytes.includes('attachment'))
      .slice(0, 6);
    expect(withParts.length).toBeGreaterThan(2);
    const rawKeys = await Promise.all(withParts.map((m, i) => store('box', `u ${i}/x`, m.bytes)));
    const broken = Buffer.from(`Subject: huge\r\nX-Long: ${'a'.repeat(2 * 1024 * 1024)}\r\n\r\nbody\r\n`);
    const brokenKey = await store('box', 'broken', broken);

    const first = await invoke([...rawKeys, brokenKey]);
    expect(first.response.batchItemFailures).toEqual([]);
    const counted = first.metrics.find((line) => 'ParseFailures' in line)!;
    expect(counted['ParseFailures']).toBe(1);
    expect(counted['MessagesParsed']).toBe(withParts.length);

    const events = (await aws.receiveAll(parsedQueueUrl)).map(
      (message) => JSON.parse(message.Body!) as EmailParsedEvent,
    );
    expect(events).toHaveLength(rawKeys.length + 1);
    const documents = new Map<string, Buffer>();
    for (const [i, rawKey] of rawKeys.entries()) {
      const documentKey = `${rawKey.slice(0, -'.eml'.length)}.parsed/message.json`;
      const bytes = await aws.getObject(BUCKET, documentKey);
      documents.set(documentKey, bytes);
      const document = JSON.parse(bytes.toString()) as ParsedDocument;
      const reference = await simpleParser(withParts[i]!.bytes);
      expect(document.status).toBe('parsed');
      expect(document.raw).toEqual({
        key: rawKey,
        size: withParts[i]!.bytes.length,
        sha256: sha256(withParts[i]!.bytes),
      });
      expect(document.parts).toHaveLength(reference.attachments.length);
      for (const [n, part] of document.parts.entries()) {
        const stored = await aws.getObject(BUCKET, part.key);
        expect(sha256(stored)).toBe(sha256(reference.attachments[n]!.content));
        expect(part.key.startsWith(`${rawKey.slice(0, -4)}.parsed/parts/`)).toBe(true);
      }
      const event = events.find((e) => e.detail.rawKey === rawKey)!;
      expect(event['detail-type']).toBe('Email Parsed');
      expect(event.detail).toMatchObject({ bucket: BUCKET, documentKey, mailboxId: 'box', status: 'parsed' });
      expect(event.detail.attachments.map((a) => a.contentType)).toEqual(
        document.parts.map((p) => p.contentType),
      );
    }
    const brokenDocument = JSON.parse(
      (await aws.getObject(BUCKET, `${brokenKey.slice(0, -4)}.parsed/message.json`)).toString(),
    ) as ParsedDocument;
    expect(brokenDocument.status).toBe('failed');
    expect(brokenDocument.failure?.reason).toBe('parser-error');
    expect(events.find((e) => e.detail.rawKey === brokenKey)?.detail.failureReason).toBe('parser-error');

    const keysBefore = (await aws.listKeys(BUCKET)).sort();
    const again = await invoke(rawKeys);
    expect(again.response.batchItemFailures).toEqual([]);
    expect((await aws.listKeys(BUCKET)).sort()).toEqual(keysBefore);
    for (const [key, bytes] of documents) expect((await aws.getObject(BUCKET, key)).equals(bytes)).toBe(true);
    // The events again, the same bodies: consumers deduplicate on documentKey (a FIFO queue does it for them).
    const resent = (await aws.receiveAll(parsedQueueUrl)).map((message) => message.Body).sort();
    const firstBodies = events.filter((e) => e.detail.rawKey !== brokenKey).map((e) => JSON.stringify(e));
    expect(resent).toEqual(firstBodies.sort());
  }, 120_000);

  test("with EVENT_BUS_NAME: each event also put on the bus, its detail the queued body's detail", async () => {
    const bus = await startEventBridgeEndpoint();
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
    process.env.EVENT_BUS_NAME = 'mail-events';
    try {
      const withParts = loadCorpus()
        .filter((message) => message.bytes.includes('attachment'))
        .slice(6, 9);
      const rawKeys = await Promise.all(withParts.map((m, i) => store('bus', `b ${i}`, m.bytes)));
      bus.failEntries((event) =>
        event.detail.includes(JSON.stringify(rawKeys[0]))
          ? { code: 'AccessDenied', message: 'no' }
          : undefined,
      );
      const result = await invoke(rawKeys);
      // The record whose event the bus refused is not done: it is parsed again later (same keys, same bytes).
      expect(result.response.batchItemFailures).toHaveLength(1);
      const queued = (await aws.receiveAll(parsedQueueUrl)).map(
        (m) => JSON.parse(m.Body!) as EmailParsedEvent,
      );
      expect(queued).toHaveLength(rawKeys.length);
      expect(bus.events).toHaveLength(rawKeys.length - 1);
      for (const event of bus.events) {
        expect(event).toMatchObject({ eventBusName: 'mail-events', source: 'mailbox-poller' });
        expect(event.detailType).toBe('Email Parsed');
        const detail = JSON.parse(event.detail) as EmailParsedEvent['detail'];
        expect(queued.find((q) => q.detail.rawKey === detail.rawKey)?.detail).toEqual(detail);
      }
      expect(bus.events.map((event) => JSON.parse(event.detail).rawKey).sort()).toEqual(
        rawKeys.slice(1).sort(),
      );
    } finally {
      delete process.env.EVENT_BUS_NAME;
      delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      await bus.close();
    }
  }, 120_000);

  test('an object that is no raw message (a parsed part, a temporary upload) is left alone', async () => {
    const result = await invoke([`${PREFIX}.incoming/box/123`, `${PREFIX}box/uidl/x/abc.parsed/parts/1`]);
    expect(result.response.batchItemFailures).toEqual([]);
    expect(await aws.receiveAll(parsedQueueUrl)).toEqual([]);
  });
});
