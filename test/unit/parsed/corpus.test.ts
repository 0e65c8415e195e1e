/**
 * Every message of the shared corpus parses, or its document says why not; nothing throws. Each stored
 * part is the bytes mailparser's own simpleParser yields for that attachment (SHA-256 and size), in the
 * same order with the same content type and Content-ID, and the text and HTML bodies are simpleParser's
 * (legacy charsets and 8-bit text decode as the library decodes them).
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { expect, it } from 'vitest';
import { describeWithCorpus, loadCorpus } from '../../support/corpus.ts';
import { parseBytes } from '../../support/parsed-sink.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeWithCorpus('parsed documents of the corpus', () => {
  const corpus = loadCorpus();

  it.each(corpus.map((message) => [message.name, message.bytes] as const))('%s', async (_name, bytes) => {
    const { document, sink } = await parseBytes(bytes);
    if (document.status === 'failed') {
      expect(document.failure?.detail).toMatch(/\S/);
      return;
    }
    const reference = await simpleParser(bytes, { keepCidLinks: true });
    expect(document.parts.map((part) => part.contentType)).toEqual(
      reference.attachments.map((attachment) => attachment.contentType),
    );
    document.parts.forEach((part, i) => {
      const expected = reference.attachments[i]!;
      const stored = sink.parts.get(part.key)!;
      expect(sha256(stored)).toBe(sha256(expected.content));
      expect(part.sha256).toBe(sha256(expected.content));
      expect(part.size).toBe(expected.content.length);
      expect(part.contentId).toBe(expected.cid ?? null);
    });
    if (document.text && !document.text.truncated) expect(document.text.content).toBe(reference.text);
    if (document.html && !document.html.truncated) expect(document.html.content).toBe(reference.html);
    expect(document.subject).toBe(reference.subject ?? null);
  });

  it('parses every message of the corpus with its parts (not a vacuous pass)', async () => {
    let parsed = 0;
    let parts = 0;
    for (const message of corpus) {
      const { document } = await parseBytes(message.bytes);
      if (document.status === 'parsed') parsed++;
      parts += document.parts.length;
    }
    expect(parsed).toBe(corpus.length);
    expect(parts).toBeGreaterThan(20);
  });
});
