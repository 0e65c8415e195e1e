/**
 * The fault-injecting TCP proxy between a raw client and small servers: bytes pass unchanged, late by
 * the configured delay, and stop exactly where a test cuts them.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cutAfterBytes, type ProxyOptions, startTcpProxy, type TcpProxy } from '../../support/tcp-proxy.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** A server on an ephemeral port whose connections are handled by `onConnection`. */
async function server(onConnection: (socket: net.Socket) => void): Promise<{ host: string; port: number }> {
  const srv = net.createServer(onConnection);
  const sockets = new Set<net.Socket>();
  srv.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        srv.close(() => resolve());
      }),
  );
  return { host: '127.0.0.1', port: (srv.address() as net.AddressInfo).port };
}

const echoServer = () => server((socket) => socket.pipe(socket));
const sendingServer = (payload: Buffer) => server((socket) => socket.end(payload));

async function proxy(options: ProxyOptions): Promise<TcpProxy> {
  const p = await startTcpProxy(options);
  cleanups.push(() => p.close());
  return p;
}

async function connect(p: TcpProxy): Promise<net.Socket> {
  const socket = net.connect({ host: p.host, port: p.port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Everything the socket receives until it closes, and how it closed. */
function collect(socket: net.Socket): Promise<{ bytes: Buffer; error: Error | undefined }> {
  const chunks: Buffer[] = [];
  let error: Error | undefined;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', (e) => {
    error = e;
  });
  return new Promise((resolve) =>
    socket.once('close', () => resolve({ bytes: Buffer.concat(chunks), error })),
  );
}

/** Reads until `length` bytes arrived. */
function readExactly(socket: net.Socket, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= length) {
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TCP proxy', () => {
  it('forwards 1 MB of random bytes unchanged in both directions', async () => {
    const p = await proxy({ target: await echoServer() });
    const client = await connect(p);
    const payload = randomBytes(1024 * 1024);
    const echoed = readExactly(client, payload.length);
    client.write(payload);
    expect((await echoed).equals(payload)).toBe(true);
    expect(p.connections).toBe(1);
    client.destroy();
  });

  it('delays each direction by delayMs and still keeps every byte in order', async () => {
    const delayMs = 50;
    const p = await proxy({ target: await echoServer(), delayMs });
    const client = await connect(p);

    const started = performance.now();
    const pong = readExactly(client, 4);
    client.write('ping');
    expect((await pong).toString()).toBe('ping');
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * delayMs);

    const payload = randomBytes(1024 * 1024);
    const echoed = readExactly(client, payload.length);
    client.write(payload);
    expect((await echoed).equals(payload)).toBe(true);
    client.destroy();
  });

  it.each([0, 20])(
    'cuts the server-to-client stream after exactly N bytes (delay %i ms)',
    async (delayMs) => {
      const payload = randomBytes(100_000);
      const p = await proxy({
        target: await sendingServer(payload),
        delayMs,
        onServerData: cutAfterBytes(4321),
      });
      const { bytes } = await collect(await connect(p));
      expect(bytes.equals(payload.subarray(0, 4321))).toBe(true);
    },
  );

  it('cuts the client-to-server stream after exactly N bytes', async () => {
    let serverSide: Promise<{ bytes: Buffer }> | undefined;
    const target = await server((socket) => {
      serverSide = collect(socket);
    });
    const p = await proxy({ target, onClientData: cutAfterBytes(1234) });
    const client = await connect(p);
    const clientSide = collect(client);
    const payload = randomBytes(50_000);
    client.write(payload);
    await clientSide;
    await expect.poll(() => serverSide).toBeDefined();
    expect((await serverSide!).bytes.equals(payload.subarray(0, 1234))).toBe(true);
  });

  it('cuts only the connection the hook picks, so a retry gets through', async () => {
    const payload = Buffer.from('+OK hello\r\n');
    const p = await proxy({
      target: await sendingServer(payload),
      onServerData: (_chunk, _total, connection) => (connection === 0 ? 'cut' : 'pass'),
    });
    const first = await collect(await connect(p));
    expect(first.bytes.length).toBe(0);
    const second = await collect(await connect(p));
    expect(second.bytes.equals(payload)).toBe(true);
    expect(p.connections).toBe(2);
  });

  it('resets the client connection when cutStyle is reset', async () => {
    const p = await proxy({
      target: await sendingServer(Buffer.from('+OK\r\n')),
      onServerData: () => 'cut',
      cutStyle: 'reset',
    });
    const { bytes, error } = await collect(await connect(p));
    expect(bytes.length).toBe(0);
    expect(error?.message).toMatch(/ECONNRESET/);
  });

  it('passes backpressure through: a client that does not read holds the server back', async () => {
    const total = 64 * 1024 * 1024;
    let finished = false;
    const target = await server((socket) => {
      const block = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += block.length;
          if (!socket.write(block)) return void socket.once('drain', pump);
        }
        socket.end(() => {
          finished = true;
        });
      };
      pump();
    });
    const p = await proxy({ target });
    const client = net.connect({ host: p.host, port: p.port });
    client.pause();
    await sleep(500);
    expect(finished).toBe(false);

    const received = collect(client);
    client.resume();
    expect((await received).bytes.length).toBe(total);
    expect(finished).toBe(true);
  });
});
