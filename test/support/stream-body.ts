/**
 * Deterministic big message bodies for throughput and backpressure tests. The script server sends the
 * dot-stuffed form; tests compare what the client stored against `streamBody()` (or its SHA-256 for
 * sizes that should not be held in memory twice).
 */
import { createHash } from 'node:crypto';

export interface BodyStreamSpec {
  /** Size of the unstuffed body (what the client must store), CRLFs included. 0 or at least 2. */
  totalBytes: number;
  /** Line length including CRLF; at least 3. Default DEFAULT_STREAM_LINE_BYTES. */
  lineBytes?: number;
}

/** RFC 5322 section 2.1.1: lines SHOULD be no more than 78 characters, excluding the CRLF. */
export const DEFAULT_STREAM_LINE_BYTES = 80;
/** Every fifth line starts with a dot, so stuffing is exercised throughout the body. */
const DOT_LINE_EVERY = 5;
const BATCH_BYTES = 64 * 1024;
const FILLER = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The unstuffed lines, each with its CRLF; their lengths add up to exactly `totalBytes`. */
export function* bodyLines(spec: BodyStreamSpec): Generator<string> {
  const lineBytes = spec.lineBytes ?? DEFAULT_STREAM_LINE_BYTES;
  if (lineBytes < 3) throw new Error(`lineBytes must be at least 3, got ${lineBytes}`);
  if (spec.totalBytes === 1 || spec.totalBytes < 0)
    throw new Error(`totalBytes cannot be ${spec.totalBytes}`);
  let remaining = spec.totalBytes;
  for (let index = 0; remaining > 0; index++) {
    // Never leave a single byte over: no line can be shorter than its CRLF.
    const length = remaining - lineBytes === 1 ? lineBytes - 1 : Math.min(lineBytes, remaining);
    remaining -= length;
    const start = `${index % DOT_LINE_EVERY === 0 ? '.' : ''}${index} `;
    let content = start;
    while (content.length < length - 2) content += FILLER;
    yield `${content.slice(0, length - 2)}\r\n`;
  }
}

/** The whole unstuffed body in memory. */
export function streamBody(spec: BodyStreamSpec): Buffer {
  return Buffer.from([...bodyLines(spec)].join(''), 'latin1');
}

export function streamBodySha256(spec: BodyStreamSpec): string {
  const hash = createHash('sha256');
  for (const line of bodyLines(spec)) hash.update(line, 'latin1');
  return hash.digest('hex');
}

/** RFC 1939 section 3 byte-stuffed body in ~64 KiB chunks, without the terminating `.\r\n`. */
export function* stuffedBodyChunks(spec: BodyStreamSpec): Generator<Buffer> {
  let batch: string[] = [];
  let batchBytes = 0;
  for (const line of bodyLines(spec)) {
    const stuffed = line.startsWith('.') ? `.${line}` : line;
    batch.push(stuffed);
    batchBytes += stuffed.length;
    if (batchBytes >= BATCH_BYTES) {
      yield Buffer.from(batch.join(''), 'latin1');
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join(''), 'latin1');
}
