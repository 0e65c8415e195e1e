/**
 * Pipelining (RFC 2449 §6.6): with PIPELINING the client sends several commands without waiting;
 * without it, the next command leaves only after the reply to the previous one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Pop3Client } from '../../../lib/pop3-client/client.ts';
import type { Pop3ClientOptions } from '../../../lib/pop3-client/options.ts';
import type { ScriptConnection, ScriptServer } from '../../support/script-server.ts';
import {
  connectTo,
  play,
  readAll,
  scriptServers,
  type Transcript,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();

/** Gmail style: PIPELINING shows up only in the CAPA after login. */
function loginAdvertising(capabilityAfterLogin: string) {
  return transcript(`
    S: +OK Gpop ready
    C: CAPA
    S: +OK
    S: USER
    S: .
    C: USER alice
    S: +OK
    C: PASS secret
    S: +OK
    C: CAPA
    S: +OK
    S: USER
    S: ${capabilityAfterLogin}
    S: .
  `);
}

/** How long the server waits to see whether the client sends anything it should not have sent yet. */
const QUIET_MS = 100;

/** What the client sent after the login, as text. */
function sentSince(conn: ScriptConnection, loginBytes: string): string {
  return conn.received.toString('latin1').slice(loginBytes.length);
}

async function connectAndLogin(
  server: ScriptServer,
  options: Partial<Pop3ClientOptions> = {},
): Promise<Pop3Client> {
  const client = await connectTo(server, options);
  await client.login({ kind: 'password', username: 'alice', password: 'secret' }, 'user');
  return client;
}

/** Two RETRs and two DELEs issued at once, the way a batch is drained. */
async function drainTwo(client: Pop3Client): Promise<[Buffer, Buffer]> {
  const [first, second] = await Promise.all([
    readAll(client.retr(1)),
    readAll(client.retr(2)),
    client.dele(1),
    client.dele(2),
  ]);
  return [first, second];
}

const REPLIES = ['+OK\r\nfirst\r\n.\r\n', '+OK\r\nsecond\r\n.\r\n', '+OK deleted\r\n', '+OK deleted\r\n'];

describe('with PIPELINING', () => {
  it('several RETR and DELE lines arrive in one read, before any reply', async () => {
    const login = loginAdvertising('PIPELINING');
    let firstRead = '';
    const server = await startServer(async (conn) => {
      await play(conn, login);
      await conn.readLine();
      firstRead = sentSince(conn, login.clientBytes);
      for (let line = 2; line <= REPLIES.length; line++) await conn.readLine();
      await conn.write(REPLIES.join(''));
      await play(conn, transcript('C: QUIT\n S: +OK'));
    });
    const client = await connectAndLogin(server);
    expect(client.capabilities.pipelining).toBe(true);

    const [first, second] = await drainTwo(client);

    expect(firstRead).toBe('RETR 1\r\nRETR 2\r\nDELE 1\r\nDELE 2\r\n');
    expect(first.toString()).toBe('first\r\n');
    expect(second.toString()).toBe('second\r\n');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
  });

  it('keeps at most `pipelineWindow` commands in flight', async () => {
    const login = loginAdvertising('PIPELINING');
    const seen: string[] = [];
    const server = await startServer(async (conn) => {
      await play(conn, login);
      await conn.readLine();
      await conn.readLine();
      await sleep(QUIET_MS);
      seen.push(sentSince(conn, login.clientBytes));
      await conn.write(REPLIES[0]!);
      await conn.readLine();
      await sleep(QUIET_MS);
      seen.push(sentSince(conn, login.clientBytes));
      await conn.write(REPLIES[1]! + REPLIES[2]!);
      await conn.readLine();
      await conn.write(REPLIES[3]!);
      await play(conn, transcript('C: QUIT\n S: +OK'));
    });
    const client = await connectAndLogin(server, { pipelineWindow: 2 });
    await drainTwo(client);
    expect(seen).toEqual(['RETR 1\r\nRETR 2\r\n', 'RETR 1\r\nRETR 2\r\nDELE 1\r\n']);
    await client.quit();
    await server.done;
  });
});

describe('without PIPELINING', () => {
  /** Answers each command only after checking that nothing else came with it. */
  async function answerOneByOne(conn: ScriptConnection, login: Transcript, seen: string[]): Promise<void> {
    await play(conn, login);
    const loginBytes = login.clientBytes;
    let expected = '';
    for (const reply of REPLIES) {
      expected += `${await conn.readLine()}\r\n`;
      await sleep(QUIET_MS);
      seen.push(
        sentSince(conn, loginBytes) === expected ? 'waited' : `did not wait: ${sentSince(conn, loginBytes)}`,
      );
      await conn.write(reply);
    }
    await play(conn, transcript('C: QUIT\n S: +OK'));
  }

  it('the next command is sent only after the reply to the previous one', async () => {
    const login = loginAdvertising('TOP');
    const seen: string[] = [];
    const server = await startServer((conn) => answerOneByOne(conn, login, seen));
    const client = await connectAndLogin(server);
    expect(client.capabilities.pipelining).toBe(false);

    const [first, second] = await drainTwo(client);

    expect(seen).toEqual(['waited', 'waited', 'waited', 'waited']);
    expect(first.toString()).toBe('first\r\n');
    expect(second.toString()).toBe('second\r\n');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(
      `${login.clientBytes}RETR 1\r\nRETR 2\r\nDELE 1\r\nDELE 2\r\nQUIT\r\n`,
    );
  });

  it('`pipelining: false` waits even when the server advertises PIPELINING', async () => {
    const login = loginAdvertising('PIPELINING');
    const seen: string[] = [];
    const server = await startServer((conn) => answerOneByOne(conn, login, seen));
    const client = await connectAndLogin(server, { pipelining: false });
    await drainTwo(client);
    expect(seen).toEqual(['waited', 'waited', 'waited', 'waited']);
    await client.quit();
    await server.done;
  });
});
