/**
 * Multi-line bodies that are parsed, not streamed (LIST, UIDL, CAPA), read line by line AS THEY ARRIVE:
 * at most one partial line is held, each line is checked against MAX_LISTING_LINE_OCTETS the moment it
 * grows past it, and a listing keeps at most `maxEntries` entries. A body is therefore never buffered
 * whole: a listing of millions of lines costs the entries kept, not the octets received (what collecting
 * it whole used to cost: bench/notes.md, "Figures behind the design notes in the code").
 *
 * Sans I/O: the client pushes the unstuffed body chunks the reply decoder hands it and calls `end()` at
 * the terminating dot.
 */
import { Pop3ProtocolError } from './errors.ts';
import { MAX_LISTING_LINE_OCTETS } from './limits.ts';

/** Turns a body, pushed in chunks, into a value. Throws Pop3ProtocolError on the first bad line. */
export interface BodyReader<T> {
  push(chunk: Buffer): void;
  end(): T;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits pushed chunks into lines, line ends removed. CRLF is the rule; a bare LF is also taken as a line
 * end (lenient: these bodies are plain text, so it cannot be misread). A last line without a line end
 * counts as a line; an empty body has none.
 */
export class BodyLineSplitter {
  readonly #keyword: string;
  readonly #onLine: (line: Buffer, lineNumber: number) => void;
  #partial: Buffer[] = [];
  #partialLength = 0;
  #lines = 0;

  constructor(keyword: string, onLine: (line: Buffer, lineNumber: number) => void) {
    this.#keyword = keyword;
    this.#onLine = onLine;
  }

  get lines(): number {
    return this.#lines;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const stop = lf === -1 ? chunk.length : lf + 1;
      // The line so far, its line end included once it has come: at most MAX_LISTING_LINE_OCTETS.
      const length = this.#partialLength + (stop - start);
      if (length > MAX_LISTING_LINE_OCTETS) {
        throw new Pop3ProtocolError(
          `line ${this.#lines + 1} of the ${this.#keyword} reply is longer than ${MAX_LISTING_LINE_OCTETS} octets`,
        );
      }
      if (lf === -1) {
        // A copy: the chunk may be a view into a large socket buffer that must not be kept alive.
        this.#partial.push(Buffer.from(chunk.subarray(start)));
        this.#partialLength = length;
        return;
      }
      const piece = chunk.subarray(start, lf);
      this.#emit(this.#partialLength === 0 ? piece : Buffer.concat([...this.#partial, piece]));
      start = stop;
    }
  }

  end(): void {
    if (this.#partialLength > 0) this.#emit(Buffer.concat(this.#partial));
  }

  #emit(lineWithCr: Buffer): void {
    const line =
      lineWithCr.length > 0 && lineWithCr[lineWithCr.length - 1] === CR
        ? lineWithCr.subarray(0, lineWithCr.length - 1)
        : lineWithCr;
    this.#partial = [];
    this.#partialLength = 0;
    this.#lines++;
    this.#onLine(line, this.#lines);
  }
}

/**
 * The entries of a LIST or UIDL listing, in the server's order, with how many were left out because the
 * listing had more than `maxEntries` lines. Lines past the cap are still checked and counted (the reply
 * must be consumed to stay in step), but not kept.
 */
export type Listing<T> = T[] & { readonly omitted: number };

/**
 * Reads a scan or unique-id listing line by line: each line parsed as it completes, a message number
 * listed twice refused (it could make us delete the wrong message), at most `maxEntries` entries kept.
 */
export class ListingReader<T extends { readonly msg: number }> implements BodyReader<Listing<T>> {
  readonly #entries: T[] = [];
  readonly #lineOfMessage = new Map<number, number>();
  readonly #splitter: BodyLineSplitter;
  #omitted = 0;

  constructor(
    keyword: string,
    parseLine: (line: string, where: string) => T,
    maxEntries: number = Number.POSITIVE_INFINITY,
  ) {
    this.#splitter = new BodyLineSplitter(keyword, (line, lineNumber) => {
      const entry = parseLine(line.toString('latin1'), `line ${lineNumber} of the ${keyword} reply`);
      if (this.#entries.length >= maxEntries) {
        this.#omitted++;
        return;
      }
      const earlier = this.#lineOfMessage.get(entry.msg);
      if (earlier !== undefined) {
        throw new Pop3ProtocolError(
          `server listed message ${entry.msg} twice in the ${keyword} reply (lines ${earlier} and ${lineNumber})`,
        );
      }
      this.#lineOfMessage.set(entry.msg, lineNumber);
      this.#entries.push(entry);
    });
  }

  push(chunk: Buffer): void {
    this.#splitter.push(chunk);
  }

  end(): Listing<T> {
    this.#splitter.end();
    // Not enumerable: the listing still compares, copies and serialises as the plain array of entries.
    return Object.defineProperty(this.#entries, 'omitted', {
      value: this.#omitted,
      enumerable: false,
    }) as Listing<T>;
  }
}

/** Collects the lines of a small body (CAPA), decoded as `encoding`. The decoder's octet cap bounds it. */
export class LinesReader implements BodyReader<string[]> {
  readonly #lines: string[] = [];
  readonly #splitter: BodyLineSplitter;

  constructor(keyword: string, encoding: 'latin1' | 'utf8') {
    this.#splitter = new BodyLineSplitter(keyword, (line) => this.#lines.push(line.toString(encoding)));
  }

  push(chunk: Buffer): void {
    this.#splitter.push(chunk);
  }

  end(): string[] {
    this.#splitter.end();
    return this.#lines;
  }
}
