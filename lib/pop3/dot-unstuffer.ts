/**
 * Removes the byte-stuffing of a POP3 multi-line body and finds its end (RFC 1939 §3).
 *
 * The server prefixes every line that starts with "." with another "." and ends the body with
 * CRLF "." CRLF. Reading it back, at the start of a line:
 *   - "." CRLF            ends the body; the CRLF before the dot belongs to the message.
 *   - "." followed by any other octet: the dot is stripped ("..x" gives ".x", ".x" gives "x").
 * A line starts after CRLF and at the start of the body. Every other octet passes through unchanged:
 * NUL, 8-bit, a bare CR and a bare LF (a bare LF does NOT start a line; only CRLF does).
 *
 * Two edge cases, decided here once:
 *   - "." CR followed by something other than LF: the dot is stripped as for any ".x" line, and the CR
 *     is kept as message data ("." CR "x" gives CR "x"), exactly as RFC 1939 §3 reads.
 *   - "." LF at a line start: the server ends lines with a bare LF. We cannot tell whether it meant the
 *     terminator, and guessing would either cut a message or wait forever, so it is a Pop3ProtocolError.
 *
 * After a throw the instance is spent: the body cannot be delimited, so the connection must go.
 *
 * The hot path searches for CRLF "." with Buffer#indexOf and hands out subarrays of the input: message
 * bytes are never copied or converted to strings.
 */
import { Pop3ProtocolError } from './errors.ts';

export type UnstufferState = 'LINE_START' | 'IN_LINE' | 'CR_SEEN' | 'DOT_AT_LINE_START' | 'DOT_CR' | 'DONE';

export interface UnstufferResult {
  /** Unstuffed message bytes, in order. Mostly subarrays of the input chunk. */
  readonly payload: Buffer[];
  /** Input octets used; less than the chunk length only when the terminator ended early in it. */
  readonly consumed: number;
  /** True once the terminating CRLF "." CRLF has been consumed. */
  readonly done: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.', 'latin1');
/** The CR held back after a line-start dot, emitted when the next octet shows it was data. */
const HELD_CR = Buffer.from([CR]);

export class DotUnstuffer {
  #state: UnstufferState = 'LINE_START';

  get state(): UnstufferState {
    return this.#state;
  }

  /**
   * Feeds bytes; returns the unstuffed payload chunks and how many input bytes were consumed. Stops
   * consuming right after the terminator; bytes after it belong to the next reply.
   */
  push(chunk: Buffer): UnstufferResult {
    const payload: Buffer[] = [];
    const end = chunk.length;
    let position = 0;
    // Start of the pass-through run not yet handed out. In both dot states it equals `position`.
    let runStart = 0;

    while (position < end && this.#state !== 'DONE') {
      switch (this.#state) {
        case 'IN_LINE': {
          const found = chunk.indexOf(CRLF_DOT, position);
          if (found === -1) {
            position = end;
            this.#state = stateAfterRun(chunk, runStart, end);
          } else {
            // Everything up to and including the CRLF is data; the dot opens a line-start decision.
            pushRun(payload, chunk, runStart, found + 2);
            position = found + 3;
            runStart = position;
            this.#state = 'DOT_AT_LINE_START';
          }
          break;
        }
        case 'LINE_START':
          if (chunk[position] === DOT) {
            pushRun(payload, chunk, runStart, position);
            position += 1;
            runStart = position;
            this.#state = 'DOT_AT_LINE_START';
          } else {
            this.#state = 'IN_LINE';
          }
          break;
        case 'CR_SEEN':
          if (chunk[position] === LF) {
            position += 1;
            this.#state = 'LINE_START';
          } else {
            // A bare CR: data like any other octet; the next octet is looked at in IN_LINE.
            this.#state = 'IN_LINE';
          }
          break;
        case 'DOT_AT_LINE_START': {
          const octet = chunk[position];
          if (octet === CR) {
            position += 1;
            runStart = position;
            this.#state = 'DOT_CR';
          } else if (octet === LF) {
            throw new Pop3ProtocolError(
              'server sent "." followed by a bare LF at the start of a line in a multi-line reply; ' +
                'the body must end with CRLF "." CRLF (RFC 1939 §3), and guessing its end could cut or ' +
                'merge messages, so the reply is refused',
            );
          } else {
            // ".." gives "." and ".x" gives "x": the first dot is dropped, this octet starts the data.
            this.#state = 'IN_LINE';
          }
          break;
        }
        case 'DOT_CR':
          if (chunk[position] === LF) {
            position += 1;
            runStart = position;
            this.#state = 'DONE';
          } else {
            // "." CR x: the dot was stuffing, the CR is data. Re-examine x as ordinary data.
            payload.push(HELD_CR);
            this.#state = 'IN_LINE';
          }
          break;
      }
    }
    pushRun(payload, chunk, runStart, position);
    return { payload, consumed: position, done: this.#state === 'DONE' };
  }
}

function pushRun(payload: Buffer[], chunk: Buffer, start: number, stop: number): void {
  if (stop > start) payload.push(chunk.subarray(start, stop));
}

/**
 * Where a run of plain data that contains no CRLF "." leaves us: after CRLF at a line start, after a CR
 * waiting for its LF, otherwise inside a line. Only octets of this run count: the octet before `start`
 * was never a pending CR, or we would not be in IN_LINE.
 */
function stateAfterRun(chunk: Buffer, start: number, end: number): UnstufferState {
  const last = chunk[end - 1];
  if (last === CR) return 'CR_SEEN';
  if (last === LF && end - 2 >= start && chunk[end - 2] === CR) return 'LINE_START';
  return 'IN_LINE';
}
