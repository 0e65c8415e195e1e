/**
 * The scriptable POP3 server, driven by a raw socket: each step of a script must happen on the wire
 * exactly as written, and a client that deviates must make `done` fail.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificates } from '../../support/certs.ts';
import { dotUnstuff, LineSocket } from '../../support/line-socket.ts';
import {
  type Script,
  type ScriptConnection,
  type ScriptServer,
  type ScriptServerOptions,
  startScriptServer,
} from '../../support/script-server.ts';
import { bodyLines, streamBody, streamBodySha256 } from '../../support/stream-body.ts';

const servers: ScriptServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: Script, options?: ScriptServerOptions): Promise<ScriptServer> {
  const server = await startScriptServer(script, options);
  servers.push(server);
  return server;
}

const connect = (server: ScriptServer) => LineSocket.connect({ port: server.port });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` settles (either way) within `ms`. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, sleep(ms).then(() => false)]);
}

describe('script server', () => {
  it('plays a conversation and records it as a transcript', async () => {
    const server = await serve([
      { send: '+OK ready\r\n' },
      { expect: 'USER alice' },
      { send: '+OK\r\n' },
      { expect: /^PASS / },
      { send: '+OK logged in\r\n' },
      { expect: 'QUIT' },
      { send: '+OK bye\r\n' },
      { close: true },
    ]);
    const client = await connect(server);
    expect(await client.readLine()).toBe('+OK ready');
    expect(await client.command('USER alice')).toBe('+OK');
    expect(await client.command('PASS secret')).toBe('+OK logged in');
    expect(await client.command('QUIT')).toBe('+OK bye');
    await client.closed;
    await server.done;

    expect(server.received.toString()).toBe('USER alice\r\nPASS secret\r\nQUIT\r\n');
    expect(server.transcript()).toBe(
      [
        'S: +OK ready',
        'C: USER alice',
        'S: +OK',
        'C: PASS secret',
        'S: +OK logged in',
        'C: QUIT',
        'S: +OK bye',
        'S: <close>',
      ].join('\n'),
    );
  });

  it('fails `done` and resets the connection when the client says something else', async () => {
    const server = await serve([{ send: '+OK ready\r\n' }, { expect: 'CAPA' }, { send: '+OK\r\n' }]);
    const client = await connect(server);
    await client.readLine();
    await client.write('STAT\r\n');
    await expect(server.done).rejects.toThrow('script expected client line CAPA, got "STAT"');
    await expect(client.readLine()).rejects.toThrow();
  });

  it('refuses a command line ended by a bare LF', async () => {
    const server = await serve([{ expect: 'NOOP' }]);
    const client = await connect(server);
    await client.write('NOOP\n');
    await expect(server.done).rejects.toThrow(/bare LF/);
  });

  it('fails `done` when the client leaves while a line is expected', async () => {
    const server = await serve([{ send: '+OK\r\n' }, { expect: 'QUIT' }]);
    const client = await connect(server);
    await client.readLine();
    client.socket.destroy();
    await expect(server.done).rejects.toThrow(/closed/);
  });

  it('splits a reply into separate writes with pauses in between', async () => {
    const server = await serve([{ sendChunks: ['+OK 2 mess', 'ages\r', '\n'], delayMs: 30 }]);
    const socket = net.connect({ port: server.port, host: server.host });
    const chunks: string[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    await server.done;
    await sleep(50);
    socket.destroy();
    expect(chunks).toEqual(['+OK 2 mess', 'ages\r', '\n']);
    expect(server.transcript()).toBe(
      'S: +OK 2 mess <no CRLF yet>\nS: ages\\x0d <no CRLF yet>\nS: \\x0a <no CRLF yet>',
    );
  });

  it('upgrades to TLS for STLS and keeps reading commands over it', async () => {
    const server = await serve([
      { send: '+OK ready\r\n' },
      { expect: 'STLS' },
      { send: '+OK begin TLS\r\n' },
      { startTls: true },
      { expect: 'USER alice' },
      { send: '+OK secret channel\r\n' },
    ]);
    const client = await connect(server);
    await client.readLine();
    expect(await client.command('STLS')).toBe('+OK begin TLS');
    await client.startTlsClient(testCertificates().caPem);
    expect(await client.command('USER alice')).toBe('+OK secret channel');
    await server.done;
    expect(server.received.toString()).toBe('STLS\r\nUSER alice\r\n');
  });

  it('refuses to start TLS when the client sent plaintext after STLS (command injection)', async () => {
    const server = await serve([{ expect: 'STLS' }, { startTls: true }]);
    const client = await connect(server);
    await client.write('STLS\r\nUSER injected\r\n');
    await expect(server.done).rejects.toThrow(/plaintext bytes arrived before the TLS handshake/);
  });

  it('stalls until the client gives up', async () => {
    const server = await serve([{ send: '+OK ready\r\n' }, { expect: 'STAT' }, { stall: true }]);
    const client = await connect(server);
    await client.readLine();
    await client.write('STAT\r\n');
    const reply = client.readLine();
    reply.catch(() => {});
    const outcome = await Promise.race([reply.then(() => 'answered'), sleep(200).then(() => 'silent')]);
    expect(outcome).toBe('silent');
    expect(await settledWithin(server.done, 20)).toBe(false);
    client.socket.destroy();
    await server.done;
  });

  it('closes gracefully when scripted to', async () => {
    const server = await serve([
      { send: '+OK\r\n' },
      { expect: 'RETR 1' },
      { send: '+OK 100 octets\r\n' },
      { close: true },
    ]);
    const client = await connect(server);
    await client.readLine();
    expect(await client.command('RETR 1')).toBe('+OK 100 octets');
    await expect(client.readMultiline()).rejects.toThrow('connection closed by peer');
    await server.done;
  });

  it('resets the connection when scripted to', async () => {
    const server = await serve([{ send: '+OK\r\n' }, { expect: 'RETR 1' }, { reset: true }]);
    const client = await connect(server);
    await client.readLine();
    await expect(client.command('RETR 1')).rejects.toThrow(/ECONNRESET/);
    await server.done;
  });

  it('streams a big dot-stuffed body that unstuffs to streamBody()', async () => {
    const spec = { totalBytes: 1_000_000 };
    const server = await serve([{ send: `+OK ${spec.totalBytes} octets\r\n` }, { sendStream: spec }]);
    const client = await connect(server);
    expect(await client.readLine()).toBe('+OK 1000000 octets');
    const block = await client.readMultiline();
    expect(block.length).toBeGreaterThan(spec.totalBytes);
    // Buffer.equals: a deep toEqual over a megabyte takes seconds.
    expect(dotUnstuff(block).equals(streamBody(spec))).toBe(true);
    await server.done;
  });

  it('honours backpressure: a client that does not read holds the stream back', async () => {
    const spec = { totalBytes: 32 * 1024 * 1024 };
    let connection: ScriptConnection | undefined;
    const server = await serve(async (conn) => {
      connection = conn;
      await conn.sendStream(spec);
    });
    const socket = net.connect({ port: server.port, host: server.host });
    socket.pause();
    await sleep(500);
    expect(await settledWithin(server.done, 0)).toBe(false);
    // Without backpressure the whole body would pile up in the server's write queue.
    expect(connection?.pendingWriteBytes).toBeLessThan(1024 * 1024);

    const client = new LineSocket(socket);
    socket.resume();
    const hash = createHash('sha256').update(dotUnstuff(await client.readMultiline()));
    expect(hash.digest('hex')).toBe(streamBodySha256(spec));
    await server.done;
  });

  it('gives the function form full control, one call per connection', async () => {
    const server = await serve(
      async (conn) => {
        await conn.write(`+OK connection ${conn.index}\r\n`);
        const line = await conn.readLine();
        await conn.write(`+OK you said ${line}\r\n`);
        await conn.end();
      },
      { connections: 2 },
    );
    for (const n of [0, 1]) {
      const client = await connect(server);
      expect(await client.readLine()).toBe(`+OK connection ${n}`);
      expect(await client.command(`hello ${n}`)).toBe(`+OK you said hello ${n}`);
    }
    await server.done;
    expect(server.connections).toBe(2);
    expect(server.transcript()).toContain('-- connection 2 --\nS: +OK connection 1');
  });
});

describe('generated stream bodies', () => {
  it.each([0, 2, 3, 79, 80, 81, 82, 1000, 65_537])(
    'add up to exactly %i bytes of CRLF lines',
    (totalBytes) => {
      const body = streamBody({ totalBytes });
      expect(body.length).toBe(totalBytes);
      for (const line of bodyLines({ totalBytes })) expect(line).toMatch(/^[^\r\n]*\r\n$/);
    },
  );

  it('contains dot-led lines, including lone dots when lines are short', () => {
    const lines = [...bodyLines({ totalBytes: 300, lineBytes: 3 })];
    expect(lines).toContain('.\r\n');
    expect([...bodyLines({ totalBytes: 10_000 })].filter((l) => l.startsWith('.')).length).toBeGreaterThan(
      10,
    );
  });

  it('rejects sizes that cannot be made of CRLF lines', () => {
    expect(() => streamBody({ totalBytes: 1 })).toThrow();
    expect(() => streamBody({ totalBytes: 100, lineBytes: 2 })).toThrow();
  });
});
