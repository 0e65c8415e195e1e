/**
 * Replies in awkward shapes, and consumers that stop early or fall behind: the conversation must stay
 * in step, or fail loudly when it cannot.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  Pop3ConnectionError,
  Pop3MessageTooLargeError,
  Pop3ProtocolError,
  Pop3ServerError,
} from '../../../lib/pop3/errors.ts';
import { testCertificates } from '../../support/certs.ts';
import type { ScriptServer, ScriptStep } from '../../support/script-server.ts';
import { streamBody } from '../../support/stream-body.ts';
import {
  ALICE_LOGIN,
  connectAsAlice,
  connectTo,
  readAll,
  rejectionOf,
  scriptServers,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();

function afterLogin(steps: ScriptStep[]): Promise<ScriptServer> {
  return startServer([...ALICE_LOGIN.steps, ...steps]);
}

describe('replies in awkward shapes', () => {
  it('a reply split at every octet, stuffing and terminator included, reads the same', async () => {
    const reply = '+OK\r\n..dot\r\n..\r\n\r\n.\r\n';
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { sendChunks: [...reply], delayMs: 2 },
      { expect: 'NOOP' },
      { sendChunks: ['+', 'OK', '\r', '\n'], delayMs: 2 },
    ]);
    const client = await connectAsAlice(server);
    expect((await readAll(client.retr(1))).toString('latin1')).toBe('.dot\r\n.\r\n\r\n');
    await client.noop();
    await server.done;
  });

  it('a second reply to one command is a protocol error, not the answer to the next one', async () => {
    const server = await afterLogin([{ expect: 'NOOP' }, { send: '+OK\r\n+OK bonus\r\n' }, { stall: true }]);
    const client = await connectAsAlice(server);
    await client.noop().catch(() => undefined);
    const error = await rejectionOf(client.stat());
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toMatch(/nobody asked for/);
  });

  it('a multi-line +OK ended by a bare LF is refused rather than guessed at', async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK\nSubject: x\n.\n' },
      { stall: true },
    ]);
    const client = await connectAsAlice(server);
    const error = await rejectionOf(readAll(client.retr(1)));
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toMatch(/bare LF/);
  });

  it('-ERR as the greeting fails the connect with the server text', async () => {
    const server = await startServer(transcript('S: -ERR [SYS/TEMP] too many connections').steps);
    const error = await rejectionOf(connectTo(server));
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect((error as Pop3ServerError).hasCode('SYS/TEMP')).toBe(true);
  });

  it('plaintext where the TLS handshake should be fails the connect', async () => {
    const server = await startServer([
      ...transcript(`
        S: +OK ready
        C: CAPA
        S: +OK
        S: STLS
        S: .
        C: STLS
        S: +OK
      `).steps,
      { sendChunks: ['', '+OK this is not TLS\r\n'], delayMs: 50 },
      { stall: true },
    ]);
    const error = await rejectionOf(
      connectTo(server, { tls: 'starttls', ca: testCertificates().caPem, timeouts: { tlsMs: 2_000 } }),
    );
    expect(error).toBeInstanceOf(Pop3ConnectionError);
  });

  it('after the connection is lost, every later command fails at once, streams included', async () => {
    const server = await afterLogin([{ expect: 'NOOP' }, { close: true }]);
    const client = await connectAsAlice(server);
    expect(await rejectionOf(client.noop())).toBeInstanceOf(Pop3ConnectionError);
    expect(await rejectionOf(client.stat())).toBeInstanceOf(Pop3ConnectionError);
    expect(await rejectionOf(readAll(client.retr(2)))).toBeInstanceOf(Pop3ConnectionError);
    expect(await rejectionOf(readAll(client.top(2, 0)))).toBeInstanceOf(Pop3ConnectionError);
    expect(await client.quit()).toEqual({ confirmed: false, text: undefined });
  });
});

describe('consumers', () => {
  const big = { totalBytes: 4 * 1024 * 1024 };

  it('a stream destroyed early discards the rest of its reply; the next command still works', async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: '+OK\r\n' },
      { sendStream: big },
      { expect: 'RETR 2' },
      { send: '+OK\r\nSubject: next\r\n.\r\n' },
    ]);
    const client = await connectAsAlice(server);
    const first = client.retr(1);
    await new Promise<void>((resolve) => first.once('readable', resolve));
    first.destroy();
    expect((await readAll(client.retr(2))).toString('latin1')).toBe('Subject: next\r\n');
    await server.done;
  });

  it('a message over maxBytes fails its stream; the next command still works', async () => {
    const server = await afterLogin([
      { expect: 'RETR 1' },
      { send: `+OK\r\n${'x'.repeat(100)}\r\n.\r\n` },
      { expect: 'NOOP' },
      { send: '+OK\r\n' },
    ]);
    const client = await connectAsAlice(server);
    const error = await rejectionOf(readAll(client.retr(1, { maxBytes: 50 })));
    expect(error).toBeInstanceOf(Pop3MessageTooLargeError);
    expect((error as Pop3MessageTooLargeError).limit).toBe(50);
    await client.noop();
    await server.done;
  });

  it('a consumer that pauses longer than idleMs is not mistaken for a silent server', async () => {
    const server = await afterLogin([{ expect: 'RETR 1' }, { send: '+OK\r\n' }, { sendStream: big }]);
    const idleMs = 250;
    const client = await connectAsAlice(server, { timeouts: { idleMs } });
    const stream = client.retr(1);
    await new Promise<void>((resolve) => stream.once('readable', resolve));
    await sleep(idleMs * 3);
    const received = await readAll(stream);
    // Buffer#equals, not toEqual: a deep comparison of 4 MiB octet by octet takes many seconds.
    expect(received.length).toBe(big.totalBytes);
    expect(received.equals(streamBody(big))).toBe(true);
    await server.done;
  });
});
