/**
 * A scriptable POP3 server for what no real server does on demand: split replies, stalls, dropped
 * connections, wrong sizes, huge bodies, STLS quirks. Tests read like transcripts:
 *
 *   const server = await startScriptServer([
 *     { send: '+OK ready\r\n' },
 *     { expect: 'USER alice' },
 *     { send: '+OK\r\n' },
 *     { stall: true },
 *   ]);
 *
 * The function form gives full control: `startScriptServer(async (conn) => { ... conn.readLine() ... })`.
 */
import net from 'node:net';
import tls from 'node:tls';
import { testCertificates } from './certs.ts';
import { LineSocket } from './line-socket.ts';
import { LOOPBACK } from './ports.ts';
import { type BodyStreamSpec, stuffedBodyChunks } from './stream-body.ts';

export type ScriptStep =
  | { send: string | Buffer }
  /** Split writes with pauses in between (default SPLIT_WRITE_PAUSE_MS), so replies arrive in pieces. */
  | { sendChunks: (string | Buffer)[]; delayMs?: number }
  /** Reads one client line (without CRLF) and asserts it; a RegExp must match. */
  | { expect: string | RegExp }
  | { startTls: true }
  /** Never answer again; the step ends when the client closes. */
  | { stall: true }
  /** Graceful close (FIN) after everything written so far. */
  | { close: true }
  /** Abortive close (RST). */
  | { reset: true }
  /** A dot-stuffed body of `totalBytes` unstuffed bytes (see stream-body.ts), then `.\r\n`. */
  | { sendStream: BodyStreamSpec };

export type Script = ScriptStep[] | ((conn: ScriptConnection) => Promise<void>);

export interface ScriptConnection {
  /** 0 for the first connection, 1 for the next (a client retrying), ... */
  readonly index: number;
  /** Everything this client sent (plaintext, also after STLS). */
  readonly received: Buffer;
  /** Resolves when the connection is gone (the client's FIN or reset counts). */
  readonly closed: Promise<void>;
  /** Bytes written but still queued in this process (not yet taken by the kernel). */
  readonly pendingWriteBytes: number;
  /** One client line without its CRLF; rejects on a bare LF or when the client closes first. */
  readLine(): Promise<string>;
  /** Resolves once the bytes are handed to the kernel. */
  write(data: string | Buffer): Promise<void>;
  /** Server side of STLS; rejects if the client sent anything after STLS before the handshake. */
  startTls(): Promise<void>;
  sendStream(spec: BodyStreamSpec): Promise<void>;
  end(): Promise<void>;
  reset(): void;
}

export interface ScriptServer {
  port: number;
  host: '127.0.0.1';
  /** Everything all clients sent, in arrival order. */
  readonly received: Buffer;
  /** Accepted connections so far. */
  readonly connections: number;
  /** `S: ...` / `C: ...` lines of what the script sent and read. */
  transcript(): string;
  /**
   * Settles when the first `connections` connections (default 1) finished their script; rejects with
   * the first failure (an expect mismatch, a client that left early). Never left unhandled: await it.
   */
  done: Promise<void>;
  close(): Promise<void>;
}

export interface ScriptServerOptions {
  /** How many connections `done` waits for (each runs the script). Default 1. */
  connections?: number;
}

export const SPLIT_WRITE_PAUSE_MS = 20;

export async function startScriptServer(
  script: Script,
  options: ScriptServerOptions = {},
): Promise<ScriptServer> {
  const awaited = options.connections ?? 1;
  const transcriptLines: string[] = [];
  const receivedChunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const outcomes: Promise<void>[] = [];
  let releaseAll: (() => void) | undefined;
  const allAccepted = new Promise<void>((resolve) => {
    releaseAll = resolve;
  });

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const index = outcomes.length;
    if (index > 0) transcriptLines.push(`-- connection ${index + 1} --`);
    const conn = new Connection(index, socket, (line) => transcriptLines.push(line), receivedChunks);
    const outcome = runScript(script, conn);
    outcomes.push(outcome);
    // Failures are reported through `done`; a connection beyond `awaited` must not crash the process.
    outcome.catch(() => {});
    if (outcomes.length === awaited) releaseAll?.();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, resolve);
  });
  const address = server.address() as net.AddressInfo;
  const done = allAccepted.then(() => Promise.all(outcomes.slice(0, awaited)).then(() => undefined));
  done.catch(() => {});

  return {
    port: address.port,
    host: LOOPBACK,
    get received() {
      return Buffer.concat(receivedChunks);
    },
    get connections() {
      return outcomes.length;
    },
    transcript: () => transcriptLines.join('\n'),
    done,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function runScript(script: Script, conn: Connection): Promise<void> {
  try {
    if (typeof script === 'function') {
      await script(conn);
      return;
    }
    for (const step of script) await runStep(step, conn);
  } catch (error) {
    conn.reset();
    throw error;
  }
}

async function runStep(step: ScriptStep, conn: Connection): Promise<void> {
  if ('send' in step) return conn.write(step.send);
  if ('sendChunks' in step) {
    for (const [i, chunk] of step.sendChunks.entries()) {
      if (i > 0) await sleep(step.delayMs ?? SPLIT_WRITE_PAUSE_MS);
      await conn.write(chunk);
    }
    return;
  }
  if ('expect' in step) {
    const line = await conn.readLine();
    const ok = typeof step.expect === 'string' ? line === step.expect : step.expect.test(line);
    if (!ok)
      throw new Error(`script expected client line ${String(step.expect)}, got ${JSON.stringify(line)}`);
    return;
  }
  if ('startTls' in step) return conn.startTls();
  if ('stall' in step) return conn.closed;
  if ('close' in step) return conn.end();
  if ('reset' in step) return conn.reset();
  return conn.sendStream(step.sendStream);
}

class Connection implements ScriptConnection {
  readonly index: number;
  readonly closed: Promise<void>;
  readonly #lines: LineSocket;
  readonly #log: (line: string) => void;
  readonly #received: Buffer[] = [];

  constructor(index: number, socket: net.Socket, log: (line: string) => void, allReceived: Buffer[]) {
    this.index = index;
    this.#log = log;
    this.#lines = new LineSocket(socket, (chunk) => {
      this.#received.push(chunk);
      allReceived.push(chunk);
    });
    this.closed = this.#lines.closed;
  }

  get received(): Buffer {
    return Buffer.concat(this.#received);
  }

  get pendingWriteBytes(): number {
    return this.#lines.socket.writableLength;
  }

  async readLine(): Promise<string> {
    try {
      const line = await this.#lines.readLine();
      this.#log(`C: ${line}`);
      return line;
    } catch (error) {
      this.#log(`C: <${(error as Error).message}>`);
      throw error;
    }
  }

  write(data: string | Buffer): Promise<void> {
    for (const line of describeWrite(data)) this.#log(`S: ${line}`);
    return this.#lines.write(data);
  }

  async startTls(): Promise<void> {
    const { certPem, keyPem } = testCertificates();
    this.#log('S: <TLS handshake>');
    await this.#lines.upgrade(
      (socket) => new tls.TLSSocket(socket, { isServer: true, cert: certPem, key: keyPem }),
    );
  }

  async sendStream(spec: BodyStreamSpec): Promise<void> {
    this.#log(`S: <dot-stuffed body of ${spec.totalBytes} bytes>`);
    for (const chunk of stuffedBodyChunks(spec)) await this.#lines.writeWithBackpressure(chunk);
    await this.write('.\r\n');
  }

  async end(): Promise<void> {
    this.#log('S: <close>');
    await this.#lines.end();
  }

  reset(): void {
    this.#log('S: <reset>');
    this.#lines.reset();
  }
}

/** Transcript lines for one write: CRLF-terminated lines, a trailing partial line marked as such. */
function describeWrite(data: string | Buffer): string[] {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const parts = text.split('\r\n');
  const partial = parts.pop() ?? '';
  const lines = parts.map(escapeControls);
  if (partial !== '') lines.push(`${escapeControls(partial)} <no CRLF yet>`);
  return lines;
}

function escapeControls(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
