/**
 * A TCP proxy that adds latency and cuts connections at chosen bytes, for network conditions the kernel
 * cannot simulate here (no netem). Each chunk is forwarded at arrival + delay, independently, so order
 * and throughput are kept while every byte is late by the same amount. Backpressure is passed through:
 * the source is paused while the destination (or the delay queue) is full.
 */
import net from 'node:net';
import { LOOPBACK } from './ports.ts';

/** 'pass' forwards the chunk; 'cut' drops both sockets; n forwards the first n bytes, then cuts. */
export type ChunkVerdict = 'pass' | 'cut' | number;
/** `totalSoFar`: bytes in this direction before `chunk`; `connection`: 0 for the first connection. */
export type ChunkHook = (chunk: Buffer, totalSoFar: number, connection: number) => ChunkVerdict;

export interface ProxyOptions {
  target: { host: string; port: number };
  /** One-way delay per direction (50 ms RTT = 25 each way). */
  delayMs?: number;
  onServerData?: ChunkHook;
  onClientData?: ChunkHook;
  /**
   * How a cut looks to the client: 'close' (default) sends FIN after the forwarded bytes, 'reset' an RST
   * (which a Node client reading at that moment may still report as a plain end of stream).
   */
  cutStyle?: 'close' | 'reset';
}

export interface TcpProxy {
  port: number;
  host: '127.0.0.1';
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Bytes waiting in one direction's delay queue before the source is paused. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** A hook that cuts after exactly `n` bytes (of one connection only, when given). */
export function cutAfterBytes(n: number, onlyConnection?: number): ChunkHook {
  return (chunk, totalSoFar, connection) => {
    if (onlyConnection !== undefined && connection !== onlyConnection) return 'pass';
    return totalSoFar + chunk.length <= n ? 'pass' : n - totalSoFar;
  };
}

export async function startTcpProxy(options: ProxyOptions): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const index = connections++;
    const upstream = net.connect({ ...options.target, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.once('close', () => sockets.delete(socket));
    }
    const cut = () => {
      upstream.destroy();
      if (options.cutStyle !== 'reset') client.destroySoon();
      // Straight from a write callback resetAndDestroy() would close with a FIN; a later turn sends RST.
      else setTimeout(() => client.destroyed || client.resetAndDestroy(), 0);
    };
    const fail = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
    upstream.once('connect', () => {
      pipe(client, upstream, options.delayMs ?? 0, options.onClientData, index, cut);
      pipe(upstream, client, options.delayMs ?? 0, options.onServerData, index, cut);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0 }, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    host: LOOPBACK,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

type Delivery = { at: number; chunk: Buffer } | { at: number; end: true } | { at: number; cut: true };

/** One direction: source → (hook, delay queue) → destination. */
function pipe(
  source: net.Socket,
  destination: net.Socket,
  delayMs: number,
  hook: ChunkHook | undefined,
  connection: number,
  cut: () => void,
): void {
  const queue: Delivery[] = [];
  let queuedBytes = 0;
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Settles when everything forwarded so far was handed to the kernel. */
  let flushed = Promise.resolve();

  const deliverDue = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const item = queue.shift()!;
      if ('cut' in item) {
        // Let the bytes before the cut reach the peer first, as they would have on the wire.
        flushed.then(cut);
        return;
      }
      if ('end' in item) {
        destination.end();
        continue;
      }
      queuedBytes -= item.chunk.length;
      let written = true;
      flushed = new Promise((resolve) => {
        written = destination.write(item.chunk, () => resolve());
      });
      if (!written) source.pause();
    }
    if (queuedBytes < MAX_QUEUED_BYTES && destination.writableLength === 0 && !stopped) source.resume();
    schedule();
  };
  const schedule = () => {
    if (timer !== undefined || queue.length === 0) return;
    timer = setTimeout(deliverDue, Math.max(0, queue[0]!.at - performance.now()));
  };
  const enqueue = (item: Delivery) => {
    queue.push(item);
    if (delayMs === 0) deliverDue();
    else schedule();
  };

  destination.on('drain', () => {
    if (queuedBytes < MAX_QUEUED_BYTES && !stopped) source.resume();
  });
  source.on('data', (chunk: Buffer) => {
    if (stopped) return;
    const verdict = hook?.(chunk, total, connection) ?? 'pass';
    total += chunk.length;
    const at = performance.now() + delayMs;
    if (verdict === 'pass') {
      queuedBytes += chunk.length;
      enqueue({ at, chunk });
      if (queuedBytes >= MAX_QUEUED_BYTES) source.pause();
      return;
    }
    // A cut: nothing more is read from this source; earlier bytes still arrive on time.
    stopped = true;
    source.pause();
    const keep = verdict === 'cut' ? 0 : Math.max(0, Math.min(verdict, chunk.length));
    if (keep > 0) {
      queuedBytes += keep;
      enqueue({ at, chunk: chunk.subarray(0, keep) });
    }
    enqueue({ at, cut: true });
  });
  source.on('end', () => {
    if (!stopped) enqueue({ at: performance.now() + delayMs, end: true });
  });
}
