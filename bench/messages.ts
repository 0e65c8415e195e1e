/**
 * Synthetic messages of an exact size, CRLF throughout (as POP3 servers send them), so every contender
 * downloads the same octets. Each one has ordinary headers, a text part and a base64 "attachment", and a
 * few body lines that start with "." so dot-stuffing (RFC 1939 §3) is exercised on every message.
 */
import { createHash } from 'node:crypto';

const CRLF = '\r\n';
/** RFC 2045 §6.8: base64 lines are at most 76 characters. */
const BASE64_LINE_CHARS = 76;
const BOUNDARY = 'bench-boundary-7f3a';

/** A message of exactly `size` octets (at least the size of its headers), unique by `index`. */
export function syntheticMessage(index: number, size: number): Buffer {
  const head = [
    `Return-Path: <sender${index % 97}@example.com>`,
    `Received: from mx.example.com (mx.example.com [192.0.2.${index % 250}]) by pop.example.net`,
    `Message-ID: <bench-${index}@example.com>`,
    `Date: Mon, 02 Jun 2025 10:${String(index % 60).padStart(2, '0')}:00 +0000`,
    `From: "Sender ${index % 97}" <sender${index % 97}@example.com>`,
    'To: invoices@example.net',
    `Subject: Invoice ${index} for order ${(index * 7919) % 100_000}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Hello, please find invoice ${index} attached.`,
    '.',
    '..a line that starts with a dot',
    '.',
    `--${BOUNDARY}`,
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ].join(CRLF);
  const tail = `${CRLF}--${BOUNDARY}--${CRLF}`;
  const fill = size - Buffer.byteLength(head) - Buffer.byteLength(tail);
  if (fill < 0) throw new RangeError(`a message needs at least ${size - fill} octets`);
  return Buffer.concat([Buffer.from(head), base64Lines(index, fill), Buffer.from(tail)]);
}

/** Exactly `octets` of base64-looking lines; a partial last line keeps the total exact. */
function base64Lines(seed: number, octets: number): Buffer {
  const line = BASE64_LINE_CHARS + CRLF.length;
  const out = Buffer.alloc(octets);
  const alphabet = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let at = 0; at < octets; at++) {
    const column = at % line;
    if (column === BASE64_LINE_CHARS) out[at] = 0x0d;
    else if (column === BASE64_LINE_CHARS + 1) out[at] = 0x0a;
    else {
      // xorshift32: cheap and deterministic, so reruns seed identical bytes.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      out[at] = alphabet[state & 63]!;
    }
  }
  // A line must not end in a lone CR: the partial last line would otherwise break CRLF framing.
  if (octets > 0 && out[octets - 1] === 0x0d) out[octets - 1] = 0x41;
  return out;
}

export function syntheticMessages(count: number, size: number, firstIndex = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => syntheticMessage(firstIndex + i, size));
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
