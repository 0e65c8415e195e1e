/**
 * Transaction commands, byte for byte: scripted server replies in, exact client lines out.
 */
import { describe, expect, it } from 'vitest';
import { Pop3ServerError } from '../../../lib/pop3/errors.ts';
import type { Pop3Client } from '../../../lib/pop3-client/client.ts';
import type { ScriptServer } from '../../support/script-server.ts';
import { connectTo, readAll, rejectionOf, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const credentials = { kind: 'password', username: 'alice', password: 'secret' } as const;

const LOGIN = `
  S: +OK POP3 ready
  C: CAPA
  S: +OK Capability list follows
  S: USER
  S: UIDL
  S: TOP
  S: .
  C: USER alice
  S: +OK
  C: PASS secret
  S: +OK maildrop locked and ready
  C: CAPA
  S: +OK
  S: USER
  S: UIDL
  S: TOP
  S: .
`;

/** Runs `conversation` after the usual login; returns the logged-in client and its server. */
async function loggedIn(
  conversation: string,
): Promise<{ client: Pop3Client; server: ScriptServer; sent: string }> {
  const script = transcript(LOGIN + conversation);
  const server = await startServer(script.steps);
  const client = await connectTo(server);
  await client.login(credentials, 'user');
  return { client, server, sent: script.clientBytes };
}

/** The server saw every line of the script and nothing else. */
async function expectExactly(server: ScriptServer, sent: string): Promise<void> {
  await server.done;
  expect(server.received.toString('latin1')).toBe(sent);
}

describe('CAPA', () => {
  it('is read at connect, and again on demand', async () => {
    const { client, server, sent } = await loggedIn(`
      C: CAPA
      S: +OK
      S: TOP
      S: SASL PLAIN
      S: EXPIRE 30
      S: .
      C: QUIT
      S: +OK bye
    `);
    expect(client.capabilities.uidl).toBe(true);
    const capabilities = await client.capa();
    expect(capabilities.uidl).toBe(false);
    expect(capabilities.sasl).toEqual(['PLAIN']);
    expect(capabilities.expire).toBe(30);
    expect(client.capabilities).toBe(capabilities);
    await client.quit();
    await expectExactly(server, sent);
  });

  it('-ERR to CAPA means an RFC 1939 server with no extensions', async () => {
    const script = transcript(`
      S: +OK old server
      C: CAPA
      S: -ERR unknown command
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    expect(client.capabilities.raw.size).toBe(0);
    expect(client.greeting.text).toBe('old server');
    expect((await client.quit()).confirmed).toBe(true);
    await expectExactly(server, script.clientBytes);
  });
});

describe('STAT, LIST, UIDL, LAST', () => {
  it('parses each reply', async () => {
    const { client, server, sent } = await loggedIn(`
      C: STAT
      S: +OK 2 320
      C: LIST
      S: +OK 2 messages (320 octets)
      S: 1 120
      S: 2 200
      S: .
      C: LIST 2
      S: +OK 2 200
      C: UIDL
      S: +OK
      S: 1 whqtswO00WBw418f9t5JxYwZ
      S: 2 QhdPYR:00WBw1Ph7x7
      S: .
      C: UIDL 2
      S: +OK 2 QhdPYR:00WBw1Ph7x7
      C: LAST
      S: +OK 0
      C: QUIT
      S: +OK
    `);
    expect(await client.stat()).toEqual({ count: 2, octets: 320 });
    expect(await client.list()).toEqual([
      { msg: 1, octets: 120 },
      { msg: 2, octets: 200 },
    ]);
    expect(await client.list(2)).toEqual({ msg: 2, octets: 200 });
    expect(await client.uidl()).toEqual([
      { msg: 1, uidl: 'whqtswO00WBw418f9t5JxYwZ' },
      { msg: 2, uidl: 'QhdPYR:00WBw1Ph7x7' },
    ]);
    expect(await client.uidl(2)).toEqual({ msg: 2, uidl: 'QhdPYR:00WBw1Ph7x7' });
    expect(await client.last()).toBe(0);
    await client.quit();
    await expectExactly(server, sent);
  });

  it('an empty maildrop lists nothing', async () => {
    const { client, server, sent } = await loggedIn(`
      C: LIST
      S: +OK 0 messages
      S: .
      C: UIDL
      S: +OK
      S: .
      C: QUIT
      S: +OK
    `);
    expect(await client.list()).toEqual([]);
    expect(await client.uidl()).toEqual([]);
    await client.quit();
    await expectExactly(server, sent);
  });

  it('-ERR to LIST n rejects with the server text', async () => {
    const { client, server, sent } = await loggedIn(`
      C: LIST 9
      S: -ERR no such message, only 2 messages in maildrop
      C: QUIT
      S: +OK
    `);
    const error = await rejectionOf(client.list(9));
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect((error as Pop3ServerError).serverText).toBe('no such message, only 2 messages in maildrop');
    await client.quit();
    await expectExactly(server, sent);
  });
});

describe('RETR and TOP', () => {
  it('RETR streams the unstuffed message, byte for byte', async () => {
    const { client, server, sent } = await loggedIn(`
      C: RETR 1
      S: +OK 42 octets
      S: Subject: dots
      S:
      S: ..leading dot
      S: ...
      S: last line
      S: .
      C: QUIT
      S: +OK
    `);
    const body = await readAll(client.retr(1));
    expect(body.toString('latin1')).toBe('Subject: dots\r\n\r\n.leading dot\r\n..\r\nlast line\r\n');
    await client.quit();
    await expectExactly(server, sent);
  });

  it('RETR keeps 8-bit, NUL and bare CR/LF octets untouched', async () => {
    const message = Buffer.from('Subject: x\r\n\r\n\x00\xff\xe9 bare\nLF bare\rCR\r\n', 'latin1');
    const login = transcript(LOGIN);
    const server = await startServer([
      ...login.steps,
      { expect: 'RETR 1' },
      { send: Buffer.concat([Buffer.from('+OK\r\n'), message, Buffer.from('.\r\n')]) },
      { expect: 'QUIT' },
      { send: '+OK\r\n' },
    ]);
    const client = await connectTo(server);
    await client.login(credentials, 'user');
    expect(await readAll(client.retr(1))).toEqual(message);
    await client.quit();
    await expectExactly(server, `${login.clientBytes}RETR 1\r\nQUIT\r\n`);
  });

  it('TOP sends the line count and streams the header', async () => {
    const { client, server, sent } = await loggedIn(`
      C: TOP 1 0
      S: +OK top of message follows
      S: Subject: hello
      S:
      S: .
      C: QUIT
      S: +OK
    `);
    expect((await readAll(client.top(1, 0))).toString('latin1')).toBe('Subject: hello\r\n\r\n');
    await client.quit();
    await expectExactly(server, sent);
  });
});

describe('DELE, NOOP, RSET', () => {
  it('sends each and resolves on +OK', async () => {
    const { client, server, sent } = await loggedIn(`
      C: DELE 1
      S: +OK message 1 deleted
      C: NOOP
      S: +OK
      C: RSET
      S: +OK maildrop has 2 messages
      C: DELE 2
      S: -ERR message 2 already deleted
      C: QUIT
      S: +OK
    `);
    await client.dele(1);
    await client.noop();
    await client.rset();
    const error = await rejectionOf(client.dele(2));
    expect(error).toBeInstanceOf(Pop3ServerError);
    await client.quit();
    await expectExactly(server, sent);
  });
});

describe('QUIT', () => {
  it('+OK confirms the UPDATE state ran', async () => {
    const { client, server, sent } = await loggedIn(`
      C: DELE 1
      S: +OK
      C: QUIT
      S: +OK dewey POP3 server signing off (maildrop empty)
    `);
    await client.dele(1);
    expect(await client.quit()).toEqual({
      confirmed: true,
      text: 'dewey POP3 server signing off (maildrop empty)',
    });
    expect(client.state).toBe('UPDATE');
    await expectExactly(server, sent);
  });

  it('-ERR means the deletions were not committed', async () => {
    const { client, server, sent } = await loggedIn(`
      C: DELE 1
      S: +OK
      C: QUIT
      S: -ERR [SYS/TEMP] some deleted messages not removed
    `);
    await client.dele(1);
    expect(await client.quit()).toEqual({ confirmed: false, text: 'some deleted messages not removed' });
    await expectExactly(server, sent);
  });

  it('a connection dropped before the reply is not a confirmation', async () => {
    const { client, server, sent } = await loggedIn(`
      C: DELE 1
      S: +OK
      C: QUIT
      S: <close>
    `);
    await client.dele(1);
    expect(await client.quit()).toEqual({ confirmed: false, text: undefined });
    await expectExactly(server, sent);
  });

  it('nothing can be sent after QUIT', async () => {
    const { client, server, sent } = await loggedIn(`
      C: QUIT
      S: +OK
    `);
    await client.quit();
    await expect(client.noop()).rejects.toThrow(/after QUIT/);
    await expectExactly(server, sent);
  });
});
