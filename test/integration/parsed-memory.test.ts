/**
 * A message as large as the limits allow (maxMessageBytes, 100 MiB) parses within the poll function's
 * memory (infra/defaults.ts pollMemorySize, 512 MB), which the parse function never exceeds: through the
 * BUILT parse bundle in a process of its own (test/support/parse-rss-probe.mjs), S3 and SQS in fauxqs in
 * this process. Two shapes: one 100 MiB base64 attachment (streamed to S3 in parts), and one 100 MiB text
 * body (which mailparser would gather whole: text-budget.ts passes it 8 MiB, the document keeps 1 MiB and says so).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uploadInParts } from '../../lib/adapters/multipart-upload.ts';
import type { ParsedDocument } from '../../lib/parsed/document.ts';
import { DEFAULT_PARSED_LIMITS } from '../../lib/parsed/limits.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { buildFunctionBundles } from '../support/lambda-harness.ts';

const MiB = 1024 * 1024;
/** infra/defaults.ts pollMemorySize, in bytes: the parse function's memory at most. */
const MEMORY_BUDGET_BYTES = 512 * MiB;
const MESSAGE_BYTES = 100 * MiB;
const BUCKET = 'mail';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROBE = path.join(ROOT, 'test/support/parse-rss-probe.mjs');

/** Writes a message of about MESSAGE_BYTES; resolves with the SHA-256 of the attachment it carries, if any. */
async function writeMessage(file: string, shape: 'attachment' | 'text'): Promise<string | undefined> {
  const out = createWriteStream(file);
  const write = (text: string | Buffer) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write(
    'From: sender@example.com\r\nTo: invoices@example.com\r\nSubject: large\r\nMIME-Version: 1.0\r\n',
  );
  if (shape === 'text') {
    await write('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n');
    const block = Buffer.from('Grüße, eine lange Zeile Text mit Umlauten: äöü ÄÖÜ ß.\r\n'.repeat(1000));
    for (let n = 0; n < MESSAGE_BYTES; n += block.length) await write(block);
    await new Promise<void>((resolve) => out.end(() => resolve()));
    return undefined;
  }
  await write(
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n' +
      '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="big.pdf"\r\n' +
      'Content-Transfer-Encoding: base64\r\n\r\n',
  );
  const raw = Buffer.alloc(57 * 1024);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) & 0xff;
  const encoded = Buffer.from(
    `${raw
      .toString('base64')
      .match(/.{1,76}/g)!
      .join('\r\n')}\r\n`,
  );
  const hash = createHash('sha256');
  for (let n = 0; n < MESSAGE_BYTES; n += encoded.length) {
    hash.update(raw);
    await write(encoded);
  }
  await write('--b--\r\n');
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return hash.digest('hex');
}

describe('parse memory', () => {
  let aws: Fauxqs;
  let dir: string;
  let bundle: string;
  let queueUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'parse-memory-'));
    const [bundles, started] = await Promise.all([buildFunctionBundles(dir), startFauxqs()]);
    bundle = bundles.parse;
    aws = started;
    await aws.createBucket(BUCKET);
    queueUrl = await aws.createQueue('parsed');
  }, 180_000);

  afterAll(async () => {
    await aws?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function parseInChild(shape: 'attachment' | 'text') {
    const file = path.join(dir, `${shape}.eml`);
    const attachmentSha256 = await writeMessage(file, shape);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    const key = `mail/box/uidl/${shape}/${hash.digest('hex')}.eml`;
    const parts = { partSize: 8 * MiB, queueSize: 2, contentType: 'message/rfc822', signal: undefined };
    await uploadInParts(
      { client: aws.s3, bucket: BUCKET, key, ...parts },
      createReadStream(file) as AsyncIterable<Buffer>,
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-old-space-size=384', PROBE, JSON.stringify({ bundle, bucket: BUCKET, key })],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...aws.env,
          MESSAGE_BUCKET: BUCKET,
          KEY_PREFIX: 'mail/',
          PARSED_QUEUE_URL: queueUrl,
        },
        maxBuffer: 16 * MiB,
      },
    );
    const line = stdout.split('\n').find((text) => text.startsWith('PROBE '))!;
    const result = JSON.parse(line.slice('PROBE '.length)) as {
      maxRssBytes: number;
      baselineRssBytes: number;
      failures: number;
    };
    const document = JSON.parse(
      (await aws.getObject(BUCKET, `${key.slice(0, -4)}.parsed/message.json`)).toString(),
    ) as ParsedDocument;
    process.stdout.write(
      `parse of a ${((await stat(file)).size / MiB).toFixed(1)} MiB ${shape} message: peak RSS ` +
        `${(result.maxRssBytes / MiB).toFixed(0)} MiB (${(result.baselineRssBytes / MiB).toFixed(0)} MiB once loaded)\n`,
    );
    return { ...result, document, attachmentSha256 };
  }

  test('a 100 MiB attachment streams to S3 within the memory budget, byte for byte', async () => {
    const { maxRssBytes, failures, document, attachmentSha256 } = await parseInChild('attachment');
    expect(failures).toBe(0);
    expect(document.status).toBe('parsed');
    expect(document.parts).toHaveLength(1);
    expect(document.parts[0]!.sha256).toBe(attachmentSha256);
    const stored = createHash('sha256').update(await aws.getObject(BUCKET, document.parts[0]!.key));
    expect(stored.digest('hex')).toBe(attachmentSha256);
    expect(maxRssBytes).toBeLessThan(MEMORY_BUDGET_BYTES);
  }, 300_000);

  test('a 100 MiB text body parses within the memory budget; the document keeps its first MiB', async () => {
    const { maxRssBytes, failures, document } = await parseInChild('text');
    expect(failures).toBe(0);
    expect(document.status).toBe('parsed');
    expect(document.text?.truncated).toBe(true);
    expect(document.cut.textBytesNotParsed).toBeGreaterThan(90 * MiB);
    expect(Buffer.byteLength(document.text!.content)).toBeLessThanOrEqual(DEFAULT_PARSED_LIMITS.maxBodyBytes);
    expect(document.cut.text).toBe(true);
    expect(maxRssBytes).toBeLessThan(MEMORY_BUDGET_BYTES);
  }, 300_000);
});
