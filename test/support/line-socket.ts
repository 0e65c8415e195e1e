/**
 * CRLF line reading over a socket that may be upgraded to TLS mid-stream. The script server uses it for
 * its side of a connection; smoke tests use it as a deliberately dumb POP3 client, so the harness does
 * not depend on the client under test.
 */
import net from 'node:net';
import tls from 'node:tls';

const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');
const TERMINATION = Buffer.from('\r\n.\r\n');
const EMPTY_BLOCK = Buffer.from('.\r\n');

export interface ConnectOptions {
  host?: string;
  port: number;
  /** Implicit TLS, verified against `ca` for `servername` (default 'localhost'). */
  tls?: { ca: string; servername?: string };
  /** Source address, e.g. 127.0.0.2 to look like a remote client. */
  localAddress?: string;
}

export class LineSocket {
  readonly closed: Promise<void>;
  #socket: net.Socket;
  /** The TCP socket under any TLS layer: the one that can be reset. */
  readonly #tcp: net.Socket;
  /** Received bytes live in #storage[#start, #end); it grows by doubling so big reads stay linear. */
  #storage: Buffer = Buffer.alloc(0);
  #start = 0;
  #end = 0;
  /** How far the pending read already searched without finding its end (so chunks are scanned once). */
  #searched = 0;
  #ended: Error | undefined;
  readonly #waiters: Array<() => boolean> = [];
  readonly #onData: ((chunk: Buffer) => void) | undefined;
  #markClosed: () => void = () => {};

  constructor(socket: net.Socket, onData?: (chunk: Buffer) => void) {
    this.#socket = socket;
    this.#tcp = socket;
    this.#onData = onData;
    this.closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#listen(socket);
  }

  /** Connects (and, for implicit TLS, completes the handshake). */
  static async connect(options: ConnectOptions): Promise<LineSocket> {
    const host = options.host ?? '127.0.0.1';
    const base = { host, port: options.port, localAddress: options.localAddress };
    const socket = options.tls
      ? tls.connect({ ...base, ca: options.tls.ca, servername: options.tls.servername ?? 'localhost' })
      : net.connect(base);
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    return new LineSocket(socket);
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  readLine(): Promise<string> {
    return this.#wait((resolve, reject) => {
      const lf = this.#find(LF);
      if (lf < 0) return false;
      const line = this.#take(lf + 1);
      if (lf === 0 || line[lf - 1] !== 0x0d)
        reject(new Error(`bare LF in line ${JSON.stringify(line.toString())}`));
      else resolve(line.subarray(0, lf - 1).toString('utf8'));
      return true;
    });
  }

  /** A multi-line block after its status line: the raw (still dot-stuffed) lines, without `.\r\n`. */
  readMultiline(): Promise<Buffer> {
    return this.#wait((resolve) => {
      if (this.buffered >= EMPTY_BLOCK.length && this.#view(EMPTY_BLOCK.length).equals(EMPTY_BLOCK)) {
        this.#take(EMPTY_BLOCK.length);
        resolve(Buffer.alloc(0));
        return true;
      }
      const end = this.#find(TERMINATION);
      if (end < 0) return false;
      resolve(this.#take(end + TERMINATION.length).subarray(0, end + CRLF.length));
      return true;
    });
  }

  /** Writes `line` + CRLF and reads the one-line reply. */
  async command(line: string): Promise<string> {
    await this.write(`${line}\r\n`);
    return this.readLine();
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Writes and, when the kernel buffer is full, waits for it to drain (how big bodies must be sent). */
  async writeWithBackpressure(chunk: Buffer): Promise<void> {
    if (this.#ended) throw this.#ended;
    if (this.#socket.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const drained = () => {
        this.#socket.off('close', gone);
        resolve();
      };
      const gone = () => {
        this.#socket.off('drain', drained);
        reject(new Error('connection closed while sending'));
      };
      this.#socket.once('drain', drained);
      this.#socket.once('close', gone);
    });
  }

  /**
   * Swaps the socket for a TLS socket built by `wrap` on top of it and waits for the handshake. Refuses
   * when unread plaintext is buffered: bytes sent before the handshake must never be read as if secured.
   */
  async upgrade(wrap: (socket: net.Socket) => tls.TLSSocket): Promise<void> {
    if (this.buffered > 0) {
      throw new Error(`${this.buffered} plaintext bytes arrived before the TLS handshake`);
    }
    this.#socket.removeAllListeners('data');
    this.#socket.removeAllListeners('end');
    const secure = wrap(this.#socket);
    await new Promise<void>((resolve, reject) => {
      secure.once('secure', resolve);
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
      secure.once('close', () => reject(new Error('connection closed during the TLS handshake')));
    });
    this.#socket = secure;
    this.#listen(secure);
  }

  /** Client-side STLS upgrade. */
  startTlsClient(ca: string, servername = 'localhost'): Promise<void> {
    return this.upgrade((socket) => tls.connect({ socket, ca, servername }));
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(() => resolve()));
  }

  /** Abortive close: the peer sees ECONNRESET. */
  reset(): void {
    const tcp = this.#tcp;
    const socket = this.#socket;
    // Called from inside a write callback (or the immediate after it), resetAndDestroy() ends with a FIN.
    // Even so, a Node peer may report the RST as a plain end of stream when it lands right behind data
    // or on a TLS connection; an idle plain-TCP peer reliably gets ECONNRESET.
    setTimeout(() => {
      if (tcp.destroyed) return;
      try {
        tcp.resetAndDestroy();
      } catch {
        // A TLS layer can own the TCP handle; a plain destroy is the closest we get.
        socket.destroy();
      }
    }, 0);
  }

  #listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.#onData?.(chunk);
      this.#append(chunk);
      this.#pump();
    });
    socket.on('end', () => this.#finish(new Error('connection closed by peer')));
    socket.on('error', (error) => this.#finish(error));
    socket.on('close', () => {
      this.#finish(new Error('connection closed'));
      this.#markClosed();
    });
  }

  #finish(reason: Error): void {
    this.#ended ??= reason;
    this.#pump();
  }

  #wait<T>(attempt: (resolve: (value: T) => void, reject: (error: Error) => void) => boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push(() => {
        if (attempt(resolve, reject)) return true;
        if (!this.#ended) return false;
        reject(this.#ended);
        return true;
      });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#waiters.length > 0 && this.#waiters[0]!()) this.#waiters.shift();
  }

  #append(chunk: Buffer): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#storage.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * (live + chunk.length), 64 * 1024));
      this.#storage.copy(grown, 0, this.#start, this.#end);
      this.#storage = grown;
      this.#start = 0;
      this.#end = live;
    }
    chunk.copy(this.#storage, this.#end);
    this.#end += chunk.length;
  }

  #view(length: number): Buffer {
    return this.#storage.subarray(this.#start, this.#start + length);
  }

  /** Offset (from the unread start) of `pattern`, or -1; remembers how far it looked. */
  #find(pattern: Buffer): number {
    const from = this.#start + Math.max(0, this.#searched - pattern.length + 1);
    const at = this.#storage.subarray(0, this.#end).indexOf(pattern, from);
    if (at >= 0) return at - this.#start;
    this.#searched = this.#end - this.#start;
    return -1;
  }

  /** Removes and returns (as a copy: storage is reused) the next `length` bytes. */
  #take(length: number): Buffer {
    const taken = Buffer.from(this.#view(length));
    this.#start += length;
    this.#searched = 0;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return taken;
  }
}

/** RFC 1939 section 3: removes the extra leading dot of each stuffed line in a multi-line block. */
export function dotUnstuff(block: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  while (start < block.length) {
    const lf = block.indexOf(0x0a, start);
    const end = lf < 0 ? block.length : lf + 1;
    out.push(block.subarray(block[start] === 0x2e ? start + 1 : start, end));
    start = end;
  }
  return Buffer.concat(out);
}
