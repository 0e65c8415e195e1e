/** A PartSink that keeps every part in memory, for tests that compare the stored bytes. */
import { Readable } from 'node:stream';
import type { ParsedDocument } from '../../lib/parsed/document.ts';
import { type PartSink, parseMessage } from '../../lib/parsed/parse-message.ts';

export class MemoryPartSink implements PartSink {
  readonly parts = new Map<string, Buffer>();

  async writePart(key: string, content: AsyncIterable<Buffer>): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk);
    this.parts.set(key, Buffer.concat(chunks));
  }
}

/** parseMessage over bytes in memory, fed in chunks of `chunkSize` as a socket would. */
export async function parseBytes(
  bytes: Buffer,
  chunkSize = 64 * 1024,
): Promise<{ document: ParsedDocument; sink: MemoryPartSink }> {
  const sink = new MemoryPartSink();
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  const document = await parseMessage({
    body: Readable.from(chunks),
    raw: { key: 'm.eml', size: bytes.length, sha256: 'unused' },
    folder: 'm.parsed/',
    sink,
  });
  return { document, sink };
}
