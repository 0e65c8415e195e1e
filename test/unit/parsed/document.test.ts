/**
 * The parsed document's caps, failure reason, file names and keys: what a cap cut is said, a message the
 * parser gives up on still gets a document with the reason, and no key is ever made from a file name.
 */
import { describe, expect, it } from 'vitest';
import { cutUtf8 } from '../../../lib/parsed/bodies.ts';
import { displayFilename } from '../../../lib/parsed/filename.ts';
import { isRawMessageKey, parsedFolderFor, partKeyIn } from '../../../lib/parsed/keys.ts';
import { DEFAULT_PARSED_LIMITS } from '../../../lib/parsed/limits.ts';
import { parseBytes } from '../../support/parsed-sink.ts';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');

describe('parsed document', () => {
  it('cuts a text body past the cap at a character boundary and says so', async () => {
    const body = 'ä'.repeat(DEFAULT_PARSED_LIMITS.maxBodyBytes); // 2 bytes each: twice the cap
    const { document } = await parseBytes(
      crlf(['Subject: long', 'Content-Type: text/plain; charset=utf-8', '', body, '']),
    );
    expect(document.status).toBe('parsed');
    expect(document.text?.truncated).toBe(true);
    expect(document.text?.bytes).toBe(2 * DEFAULT_PARSED_LIMITS.maxBodyBytes + 1);
    expect(Buffer.byteLength(document.text!.content)).toBe(DEFAULT_PARSED_LIMITS.maxBodyBytes);
    expect(document.cut).toEqual({ text: true });
  });

  it('reports a header section the parser refuses as a failure with its reason, without throwing', async () => {
    const huge = `X-Long: ${'a'.repeat(2 * 1024 * 1024)}`;
    const { document } = await parseBytes(crlf(['Subject: big header', huge, '', 'body', '']));
    expect(document.status).toBe('failed');
    expect(document.failure?.reason).toBe('parser-error');
    expect(document.failure?.detail.length).toBeLessThanOrEqual(501);
  });

  it('stores parts under index keys, shows a sanitised name and counts replacement characters', async () => {
    const { document, sink } = await parseBytes(
      crlf([
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        // Latin-1 "café" declared as UTF-8: the é cannot decode.
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('base64'),
        '--b',
        'Content-Type: application/pdf',
        'Content-Disposition: attachment; filename="../../etc/\u202Efdp.exe"',
        'Content-ID: <p1@x>',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('%PDF-1.4 test').toString('base64'),
        '--b--',
        '',
      ]),
    );
    expect(document.parts).toHaveLength(1);
    expect(document.parts[0]).toMatchObject({
      key: 'm.parsed/parts/1',
      filename: '.._.._etc_fdp.exe',
      contentId: 'p1@x',
      inline: false,
      size: 13,
    });
    expect(sink.parts.get('m.parsed/parts/1')?.toString()).toBe('%PDF-1.4 test');
    expect(document.text?.replacementCharacters).toBeGreaterThan(0);
  });

  it('stores at most maxParts parts and says how many were left out', async () => {
    const parts = Array.from({ length: 3 }, (_, i) => [
      '--b',
      'Content-Type: application/octet-stream',
      '',
      `part ${i}`,
    ]).flat();
    const { parseMessage } = await import('../../../lib/parsed/parse-message.ts');
    const { MemoryPartSink } = await import('../../support/parsed-sink.ts');
    const { Readable } = await import('node:stream');
    const sink = new MemoryPartSink();
    const bytes = crlf(['Content-Type: multipart/mixed; boundary=b', '', ...parts, '--b--', '']);
    const document = await parseMessage({
      body: Readable.from([bytes]),
      raw: { key: 'm.eml', size: bytes.length, sha256: 'x' },
      folder: '',
      sink,
      limits: { ...DEFAULT_PARSED_LIMITS, maxParts: 2 },
    });
    expect(document.parts.map((part) => part.key)).toEqual(['parts/1', 'parts/2']);
    expect(document.cut).toEqual({ partsNotStored: 1 });
    expect(sink.parts.size).toBe(2);
  });

  it('derives keys from the raw key only, never for objects that are not raw messages', () => {
    expect(parsedFolderFor('mail/box/uidl/a%2Fb/abc.eml', 'mail/')).toBe('mail/box/uidl/a%2Fb/abc.parsed/');
    expect(partKeyIn('x.parsed/', 3)).toBe('x.parsed/parts/3');
    expect(isRawMessageKey('mail/.incoming/box/123', 'mail/')).toBe(false);
    expect(isRawMessageKey('mail/.state/box.eml', 'mail/')).toBe(false);
    expect(isRawMessageKey('other/box/sha256/abc.eml', 'mail/')).toBe(false);
  });

  it('cuts UTF-8 without splitting a character, and names of dots or nothing become null', () => {
    expect(cutUtf8('aä€', 3)).toBe('aä');
    expect(cutUtf8('aä€', 5)).toBe('aä');
    expect(cutUtf8('aä€', 6)).toBe('aä€');
    expect(displayFilename('..', 255)).toBeNull();
    expect(displayFilename('\u0000\u202E', 255)).toBeNull();
    expect(displayFilename('x'.repeat(300), 255)).toHaveLength(255);
  });
});

describe('Email Parsed event', () => {
  it('fits an SQS message whatever the addresses hold, saying how many were not listed', async () => {
    const { emailParsedEvent, MAX_EVENT_BYTES } = await import('../../../lib/parsed/event.ts');
    const huge = (i: number) => `"${'N'.repeat(20_000)}${i}" <r${i}@example.com>`;
    const to = Array.from({ length: 40 }, (_, i) => huge(i)).join(', ');
    const { document } = await parseBytes(crlf([`To: ${to}`, 'Subject: s', '', 'body', '']));
    expect(document.to).toHaveLength(40);
    const event = emailParsedEvent(
      document,
      { mailboxId: 'box', bucket: 'b', documentKey: 'k' },
      DEFAULT_PARSED_LIMITS,
    );
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(event.detail.to.length).toBeGreaterThan(0);
    expect(event.detail.to.length + event.detail.recipientsNotListed).toBe(40);
  });
});

describe('parse failures that are not the message', () => {
  it('a part that cannot be written rejects with that error and releases the message stream', async () => {
    const { parseMessage } = await import('../../../lib/parsed/parse-message.ts');
    const { PassThrough } = await import('node:stream');
    // A response still arriving: the rest of the message has not come yet.
    const body = new PassThrough();
    body.write(
      crlf([
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: application/pdf',
        '',
        'x'.repeat(100_000),
      ]),
    );
    const refused = new Error('S3 unreachable');
    const parse = parseMessage({
      body,
      raw: { key: 'm.eml', size: 0, sha256: '' },
      folder: '',
      sink: {
        writePart: async () => {
          throw refused;
        },
      },
    });
    await expect(parse).rejects.toBe(refused);
    expect(body.destroyed).toBe(true);
  });
});
