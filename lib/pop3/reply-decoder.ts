/**
 * Incremental POP3 reply decoder: bytes in, events out. It does no I/O and keeps no timers; the client
 * tells it, command by command, what shape of reply to expect, BEFORE writing the command, so several
 * pipelined commands (RFC 2449 §6.6) can be outstanding at once.
 *
 * Shapes:
 *   single     one status line.
 *   multiline  a status line; after +OK a dot-terminated body follows (RFC 1939 §3), after -ERR nothing.
 *   sasl       a status line that may also be a continuation, "+ base64" or "+" (RFC 5034 §4).
 *   stls       a single line; after +OK every byte already received is discarded and counted, because it
 *              arrived before the TLS handshake and an attacker may have injected it (cf. CVE-2021-22947).
 *              Nothing more is accepted until `resumeAfterTls()`.
 *
 * Status lines end with CRLF. A bare LF is accepted too (lenient: some servers send it, and a status line
 * is unambiguous), except before a multi-line body: a server that ends lines with LF alone cannot mark the
 * end of a body unambiguously, so that is refused instead of guessed at.
 *
 * After any throw the decoder is broken for good (every later call throws the same error): the byte
 * stream is out of step and the connection must be dropped.
 */
import { DotUnstuffer } from './dot-unstuffer.ts';
import {
  Pop3ConnectionError,
  Pop3Error,
  Pop3MessageTooLargeError,
  Pop3ProtocolError,
  Pop3ServerError,
  Pop3UsageError,
  quoteForMessage,
} from './errors.ts';
import { MAX_SASL_CHALLENGE_OCTETS, MAX_STATUS_LINE_OCTETS } from './limits.ts';

export type ReplyShape = 'single' | 'multiline' | 'sasl' | 'stls';

export interface StatusLine {
  /** '+' only in 'sasl' replies. */
  readonly kind: '+OK' | '-ERR' | '+';
  /** After the indicator and one space; response code NOT stripped; UTF-8 with replacement characters. */
  readonly text: string;
  /** The line without its line end. */
  readonly raw: Buffer;
}

export type ReplyEvent =
  | { readonly type: 'status'; readonly status: StatusLine }
  /** Unstuffed body bytes (multi-line +OK only). */
  | { readonly type: 'data'; readonly chunk: Buffer }
  /** The reply is complete; sent after every reply, also single, -ERR and '+'. */
  | { readonly type: 'end' };

export interface ExpectOptions {
  /** Command keyword, for error messages ("reply to LIST"). */
  readonly label?: string;
  /** Fail with Pop3MessageTooLargeError once a multi-line body grows past this many octets. */
  readonly maxBodyOctets?: number;
}

interface ExpectedReply {
  readonly shape: ReplyShape;
  readonly label: string;
  readonly maxBodyOctets: number;
}

type Mode = 'status' | 'body' | 'tls-wait' | 'closed';

const LF = 0x0a;
const CR = 0x0d;
const INDICATORS = [
  { kind: '+OK', bytes: Buffer.from('+OK', 'latin1') },
  { kind: '-ERR', bytes: Buffer.from('-ERR', 'latin1') },
] as const;
const CONTINUATION = 0x2b; // '+'
const SPACE = 0x20;

export class ReplyDecoder {
  readonly #queue: ExpectedReply[] = [];
  #mode: Mode = 'status';
  #failure: Pop3Error | undefined;
  /** Pieces of a status line whose LF has not arrived yet, and their total length. */
  #partialLine: Buffer[] = [];
  #partialLength = 0;
  #unstuffer = new DotUnstuffer();
  #bodyOctets = 0;
  #discardedAfterTls = 0;

  /** Announces the reply to the next command. Call once per command, before the command is written. */
  expect(shape: ReplyShape, options: ExpectOptions = {}): void {
    this.#assertUsable();
    this.#queue.push({
      shape,
      label: options.label ?? 'the command',
      maxBodyOctets: options.maxBodyOctets ?? Number.POSITIVE_INFINITY,
    });
  }

  /** Replies expected and not yet ended. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Octets received after STLS +OK and dropped, because they came before the TLS handshake. */
  get discardedAfterTls(): number {
    return this.#discardedAfterTls;
  }

  /** Call once TLS is up after STLS +OK; from now on bytes come from the TLS layer. */
  resumeAfterTls(): void {
    this.#assertUsable();
    if (this.#mode !== 'tls-wait') throw new Pop3UsageError('resumeAfterTls() without a successful STLS');
    this.#mode = 'status';
  }

  push(chunk: Buffer): ReplyEvent[] {
    this.#assertUsable();
    try {
      return this.#decode(chunk);
    } catch (error) {
      this.#failure =
        error instanceof Pop3Error
          ? error
          : new Pop3ProtocolError('reply decoding failed unexpectedly', { cause: error });
      throw this.#failure;
    }
  }

  /** The connection closed. Throws when a reply was partly received; the client checks `pending` too. */
  end(): void {
    this.#assertUsable();
    const expected = this.#queue[0];
    const midway = this.#mode === 'body' || this.#partialLength > 0;
    this.#mode = 'closed';
    if (expected !== undefined && midway) {
      const where =
        this.#partialLength > 0
          ? `after ${this.#partialLength} octets of the status line`
          : `after ${this.#bodyOctets} octets of the body, before the terminating "."`;
      this.#failure = new Pop3ConnectionError(
        `connection closed in the middle of the reply to ${expected.label} (${where})`,
      );
      throw this.#failure;
    }
  }

  #assertUsable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#mode === 'closed') throw new Pop3UsageError('the reply decoder was used after end()');
  }

  #decode(chunk: Buffer): ReplyEvent[] {
    const events: ReplyEvent[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#mode === 'tls-wait') {
        this.#discardedAfterTls += chunk.length - offset;
        break;
      }
      const expected = this.#queue[0];
      if (expected === undefined) throw unsolicited(chunk.subarray(offset));
      offset =
        this.#mode === 'body'
          ? this.#decodeBody(chunk, offset, expected, events)
          : this.#decodeStatus(chunk, offset, expected, events);
    }
    return events;
  }

  #decodeStatus(chunk: Buffer, offset: number, expected: ExpectedReply, events: ReplyEvent[]): number {
    // Continuations may be long (RFC 5034 §4); +OK/-ERR lines are checked against 512 once complete.
    const limit = expected.shape === 'sasl' ? MAX_SASL_CHALLENGE_OCTETS : MAX_STATUS_LINE_OCTETS;
    const lf = chunk.indexOf(LF, offset);
    const piece = chunk.subarray(offset, lf === -1 ? chunk.length : lf);
    // The line's octets so far without its LF: with the LF it must not exceed `limit`.
    if (this.#partialLength + piece.length + 1 > limit) throw tooLong(expected, limit);
    if (lf === -1) {
      this.#partialLine.push(piece);
      this.#partialLength += piece.length;
      return chunk.length;
    }
    const withoutLf = this.#partialLength === 0 ? piece : Buffer.concat([...this.#partialLine, piece]);
    this.#partialLine = [];
    this.#partialLength = 0;
    const endsWithCrLf = withoutLf.length > 0 && withoutLf[withoutLf.length - 1] === CR;
    // A copy: a status line is small, and must not keep a large socket chunk alive.
    const raw = Buffer.from(endsWithCrLf ? withoutLf.subarray(0, withoutLf.length - 1) : withoutLf);
    const status = parseStatusLine(raw, expected);
    if (status.kind !== '+' && withoutLf.length + 1 > MAX_STATUS_LINE_OCTETS) {
      throw tooLong(expected, MAX_STATUS_LINE_OCTETS);
    }
    events.push({ type: 'status', status });

    if (expected.shape === 'multiline' && status.kind === '+OK') {
      if (!endsWithCrLf) {
        throw new Pop3ProtocolError(
          `server ended the +OK line of the reply to ${expected.label} with a bare LF; a multi-line ` +
            'body from a server that does not use CRLF cannot be delimited safely (RFC 1939 §3)',
        );
      }
      this.#mode = 'body';
      this.#unstuffer = new DotUnstuffer();
      this.#bodyOctets = 0;
      return lf + 1;
    }
    this.#finishReply(events);
    if (expected.shape === 'stls' && status.kind === '+OK') {
      this.#mode = 'tls-wait';
      this.#discardedAfterTls += chunk.length - (lf + 1);
      return chunk.length;
    }
    return lf + 1;
  }

  #decodeBody(chunk: Buffer, offset: number, expected: ExpectedReply, events: ReplyEvent[]): number {
    const result = this.#unstuffer.push(offset === 0 ? chunk : chunk.subarray(offset));
    for (const piece of result.payload) {
      this.#bodyOctets += piece.length;
      if (this.#bodyOctets > expected.maxBodyOctets) {
        throw new Pop3MessageTooLargeError(
          `the reply to ${expected.label} grew past ${expected.maxBodyOctets} octets without ending`,
          { limit: expected.maxBodyOctets, seen: this.#bodyOctets },
        );
      }
      events.push({ type: 'data', chunk: piece });
    }
    if (result.done) {
      this.#mode = 'status';
      this.#finishReply(events);
    }
    return offset + result.consumed;
  }

  #finishReply(events: ReplyEvent[]): void {
    this.#queue.shift();
    events.push({ type: 'end' });
  }
}

/**
 * Bytes nobody asked for. A server that gives up on a session (Dovecot after "+OK Logged in." when it
 * cannot open the mailbox) says why in an unsolicited -ERR line: that is its refusal, with its response
 * code ([SYS/TEMP] means "retry later"), not a protocol violation.
 */
function unsolicited(bytes: Buffer): Pop3Error {
  const lineEnd = bytes.indexOf(LF);
  const line = bytes.subarray(0, lineEnd === -1 ? Math.min(bytes.length, MAX_STATUS_LINE_OCTETS) : lineEnd);
  if (lineEnd !== -1 && lineEnd < MAX_STATUS_LINE_OCTETS && /^-ERR( |\r?$)/i.test(line.toString('latin1'))) {
    const text = line.toString('utf8').replace(/\r$/, '').slice(5);
    return new Pop3ServerError(text);
  }
  return new Pop3ProtocolError(
    `server sent ${bytes.length} octets nobody asked for: ${quoteForMessage(bytes.subarray(0, 60).toString('latin1'))}`,
  );
}

function tooLong(expected: ExpectedReply, limit: number): Pop3ProtocolError {
  return new Pop3ProtocolError(
    `server sent a status line longer than ${limit} octets (line end included) in the reply to ` +
      `${expected.label} (RFC 2449 §4)`,
  );
}

/** Splits "+OK text", "-ERR text" and, for 'sasl', "+ text" / "+". Indicators match case-insensitively. */
function parseStatusLine(raw: Buffer, expected: ExpectedReply): StatusLine {
  for (const { kind, bytes } of INDICATORS) {
    if (startsWithIndicator(raw, bytes)) {
      return { kind, text: textAfter(raw, bytes.length), raw };
    }
  }
  if (expected.shape === 'sasl' && raw[0] === CONTINUATION && (raw.length === 1 || raw[1] === SPACE)) {
    return { kind: '+', text: textAfter(raw, 1), raw };
  }
  throw new Pop3ProtocolError(
    `server answered ${expected.label} without +OK or -ERR: ${quoteForMessage(raw.toString('latin1'), 80)}`,
  );
}

function startsWithIndicator(raw: Buffer, indicator: Buffer): boolean {
  if (raw.length < indicator.length) return false;
  if (raw.length > indicator.length && raw[indicator.length] !== SPACE) return false;
  return raw.subarray(0, indicator.length).toString('latin1').toUpperCase() === indicator.toString('latin1');
}

function textAfter(raw: Buffer, indicatorLength: number): string {
  return raw.length > indicatorLength ? raw.subarray(indicatorLength + 1).toString('utf8') : '';
}
