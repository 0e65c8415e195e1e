import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { dotUnstuff, LineSocket } from '../../support/line-socket.ts';
import {
  dotStuffed,
  type MemoryPop3Server,
  type MemoryPop3ServerOptions,
  startMemoryPop3Server,
  topOf,
} from '../../support/memory-pop3-server.ts';

const FIRST = Buffer.from('Subject: one\r\n\r\nfirst body\r\n');
const SECOND = Buffer.from('Subject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n');
const THIRD = Buffer.from('Subject: three\r\n\r\nthird body\r\n');

const servers: MemoryPop3Server[] = [];
const clients: LineSocket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.reset();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: Partial<MemoryPop3ServerOptions> = {}): Promise<MemoryPop3Server> {
  const server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: 'secret', messages: [FIRST, SECOND, THIRD] }],
    ...options,
  });
  servers.push(server);
  return server;
}

/** A raw client that has read the greeting. */
async function connect(server: MemoryPop3Server): Promise<LineSocket> {
  const client = await LineSocket.connect({ host: server.host, port: server.port });
  clients.push(client);
  expect(await client.readLine()).toMatch(/^\+OK /);
  return client;
}

async function logIn(server: MemoryPop3Server, user = 'alice', password = 'secret'): Promise<LineSocket> {
  const client = await connect(server);
  expect(await client.command(`USER ${user}`)).toMatch(/^\+OK/);
  expect(await client.command(`PASS ${password}`)).toMatch(/^\+OK/);
  return client;
}

async function multiline(client: LineSocket, command: string): Promise<{ status: string; body: Buffer }> {
  const status = await client.command(command);
  expect(status).toMatch(/^\+OK/);
  return { status, body: await client.readMultiline() };
}

async function quit(client: LineSocket): Promise<void> {
  expect(await client.command('QUIT')).toMatch(/^\+OK/);
  await client.closed;
}

/** Retries `check` until it passes: the server notices a dropped connection a moment after the client. */
async function eventually(check: () => Promise<void>, attempts = 50): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

describe('memory POP3 server: capabilities and login', () => {
  it('advertises its capabilities, PIPELINING and UIDL by default', async () => {
    const client = await connect(await serve());
    const capa = (await multiline(client, 'CAPA')).body.toString();
    expect(capa.split('\r\n')).toEqual(
      expect.arrayContaining(['USER', 'TOP', 'UIDL', 'PIPELINING', 'RESP-CODES', 'AUTH-RESP-CODE']),
    );
    expect(capa).not.toContain('EXPIRE');
  });

  it('advertises EXPIRE 0 when asked, and leaves out what is switched off', async () => {
    const client = await logIn(await serve({ expireZero: true, pipelining: false, uidl: false }));
    const capa = (await multiline(client, 'CAPA')).body.toString().split('\r\n');
    expect(capa).toContain('EXPIRE 0');
    expect(capa).not.toContain('PIPELINING');
    expect(capa).not.toContain('UIDL');
    expect(await client.command('UIDL')).toMatch(/^-ERR/);
  });

  it('refuses a wrong password with [AUTH] and does not repeat it', async () => {
    const client = await connect(await serve());
    await client.command('USER alice');
    const reply = await client.command('PASS guessed-wrong');
    expect(reply).toMatch(/^-ERR \[AUTH\]/);
    expect(reply).not.toContain('guessed-wrong');
    expect(await client.command('STAT')).toMatch(/^-ERR/);
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const server = await serve();
    const wrongPassword = await connect(server);
    await wrongPassword.command('USER alice');
    const unknownUser = await connect(server);
    await unknownUser.command('USER mallory');
    expect(await unknownUser.command('PASS secret')).toBe(await wrongPassword.command('PASS nope'));
  });

  it('refuses transaction commands and PASS without USER before login', async () => {
    const client = await connect(await serve());
    expect(await client.command('PASS secret')).toMatch(/^-ERR/);
    expect(await client.command('RETR 1')).toMatch(/^-ERR/);
    expect(await client.command('USER alice')).toMatch(/^\+OK/);
    expect(await client.command('PASS secret')).toMatch(/^\+OK/);
  });

  it('lets one session at a time into a maildrop: the second gets [IN-USE] until the first is gone', async () => {
    const server = await serve();
    const first = await logIn(server);
    const second = await connect(server);
    await second.command('USER alice');
    expect(await second.command('PASS secret')).toMatch(/^-ERR \[IN-USE\]/);

    first.reset();
    await eventually(async () => {
      await second.command('USER alice');
      expect(await second.command('PASS secret')).toMatch(/^\+OK/);
    });
  });
});

describe('memory POP3 server: listing and retrieval', () => {
  it('STAT and LIST count the octets RETR sends', async () => {
    const client = await logIn(await serve());
    const sizes = [FIRST, SECOND, THIRD].map((message) => message.length);
    expect(await client.command('STAT')).toBe(`+OK 3 ${sizes[0]! + sizes[1]! + sizes[2]!}`);
    expect((await multiline(client, 'LIST')).body.toString()).toBe(
      `1 ${sizes[0]}\r\n2 ${sizes[1]}\r\n3 ${sizes[2]}\r\n`,
    );
    expect(await client.command('LIST 2')).toBe(`+OK 2 ${sizes[1]}`);
    expect(await client.command('LIST 4')).toMatch(/^-ERR/);
    expect(await client.command('LIST 0')).toMatch(/^-ERR/);
    expect(await client.command('LIST x')).toMatch(/^-ERR/);
  });

  it('keeps unique-ids stable across sessions and after an earlier message is deleted', async () => {
    const server = await serve();
    const first = await logIn(server);
    const before = (await multiline(first, 'UIDL')).body.toString().trim().split('\r\n');
    expect(before).toHaveLength(3);
    const ids = before.map((line) => line.split(' ')[1]!);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[\x21-\x7e]{1,70}$/);
    expect(await first.command('UIDL 2')).toBe(`+OK 2 ${ids[1]}`);
    expect(await first.command('DELE 1')).toMatch(/^\+OK/);
    await quit(first);

    const second = await logIn(server);
    const after = (await multiline(second, 'UIDL')).body.toString();
    expect(after).toBe(`1 ${ids[1]}\r\n2 ${ids[2]}\r\n`);
  });

  it('gives two identical messages different unique-ids', async () => {
    const client = await logIn(
      await serve({ users: [{ name: 'alice', password: 'secret', messages: [FIRST, FIRST] }] }),
    );
    const [one, two] = (await multiline(client, 'UIDL')).body.toString().trim().split('\r\n');
    expect(one!.split(' ')[1]).not.toBe(two!.split(' ')[1]);
  });

  it('sends a message exactly as stored, dot-stuffed on the wire', async () => {
    const tricky = Buffer.from('.starts with a dot\r\nmiddle\r\n.\r\n..two dots\r\n.\r\nlast\r\n');
    const client = await logIn(
      await serve({ users: [{ name: 'alice', password: 'secret', messages: [tricky] }] }),
    );
    const { status, body } = await multiline(client, 'RETR 1');
    expect(status).toBe(`+OK ${tricky.length} octets`);
    expect(body.toString()).toBe('..starts with a dot\r\nmiddle\r\n..\r\n...two dots\r\n..\r\nlast\r\n');
    expect(dotUnstuff(body).equals(tricky)).toBe(true);
  });

  it('keeps 8-bit octets, NUL, a bare CR and a bare LF followed by a dot unchanged', async () => {
    const binary = Buffer.concat([
      Buffer.from('Subject: x\r\n\r\n'),
      Buffer.from([0xe9, 0x00, 0x0d, 0x41, 0x0a, 0x2e, 0x42]),
      Buffer.from('\r\n'),
    ]);
    const client = await logIn(
      await serve({ users: [{ name: 'alice', password: 'secret', messages: [binary] }] }),
    );
    const { body } = await multiline(client, 'RETR 1');
    // A bare LF does not start a line, so the dot after it is not stuffed (the client agrees).
    expect(body.equals(binary)).toBe(true);
  });

  it('appends CRLF to a message without one, counting it in LIST; an empty message stays empty', async () => {
    const unterminated = Buffer.from('Subject: no newline\r\n\r\nends here');
    const client = await logIn(
      await serve({
        users: [{ name: 'alice', password: 'secret', messages: [unterminated, Buffer.alloc(0)] }],
      }),
    );
    expect(await client.command('LIST 1')).toBe(`+OK 1 ${unterminated.length + 2}`);
    expect((await multiline(client, 'RETR 1')).body.toString()).toBe(`${unterminated}\r\n`);
    expect(await client.command('LIST 2')).toBe('+OK 2 0');
    expect((await multiline(client, 'RETR 2')).body.length).toBe(0);
  });

  it('TOP sends the header section, the empty line and the first lines of the body', async () => {
    const client = await logIn(await serve());
    expect((await multiline(client, 'TOP 2 0')).body.toString()).toBe('Subject: two\r\n\r\n');
    expect((await multiline(client, 'TOP 2 2')).body.toString()).toBe(
      'Subject: two\r\n\r\nline 1\r\nline 2\r\n',
    );
    expect((await multiline(client, 'TOP 2 99')).body.equals(SECOND)).toBe(true);
    expect(await client.command('TOP 2')).toMatch(/^-ERR/);
    expect(await client.command('TOP 2 -1')).toMatch(/^-ERR/);
  });

  it('handles several commands arriving in one write, answering in order', async () => {
    const server = await serve();
    const client = await connect(server);
    await client.write('USER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nQUIT\r\n');
    expect(await client.readLine()).toMatch(/^\+OK/);
    expect(await client.readLine()).toMatch(/^\+OK alice has 3 messages/);
    expect(await client.readLine()).toMatch(/^\+OK 3 /);
    expect(await client.readLine()).toMatch(/^\+OK \d+ octets/);
    expect((await client.readMultiline()).equals(FIRST)).toBe(true);
    expect(await client.readLine()).toMatch(/^\+OK message 1 marked/);
    expect(await client.readLine()).toBe('+OK');
    expect(await client.readLine()).toMatch(/^\+OK 1 messages deleted/);
    await client.closed;
    expect(server.messages('alice')).toEqual([SECOND, THIRD]);
  });

  it('answers an unknown command with -ERR and carries on; refuses an overlong line', async () => {
    const client = await logIn(await serve());
    expect(await client.command('XYZZY')).toMatch(/^-ERR/);
    expect(await client.command(`NOOP ${'x'.repeat(300)}`)).toBe('-ERR command line too long');
    expect(await client.command('NOOP')).toBe('+OK');
  });
});

describe('memory POP3 server: deletion happens only on QUIT', () => {
  it('DELE hides the message for the session; QUIT removes it from the maildrop', async () => {
    const server = await serve();
    const client = await logIn(server);
    expect(await client.command('DELE 2')).toMatch(/^\+OK/);
    expect(await client.command('DELE 2')).toMatch(/^-ERR/);
    expect(await client.command('RETR 2')).toMatch(/^-ERR/);
    expect(await client.command('STAT')).toBe(`+OK 2 ${FIRST.length + THIRD.length}`);
    expect(server.messages('alice')).toHaveLength(3);
    await quit(client);
    expect(server.messages('alice')).toEqual([FIRST, THIRD]);
  });

  it('a dropped connection deletes nothing', async () => {
    const server = await serve();
    const client = await logIn(server);
    expect(await client.command('DELE 1')).toMatch(/^\+OK/);
    client.reset();
    // Logging in again proves the server saw the drop; the maildrop must still be whole.
    await eventually(async () => {
      const again = await logIn(server);
      await quit(again);
    });
    expect(server.messages('alice')).toEqual([FIRST, SECOND, THIRD]);
  });

  it('RSET unmarks every message', async () => {
    const server = await serve();
    const client = await logIn(server);
    await client.command('DELE 1');
    await client.command('DELE 3');
    expect(await client.command('RSET')).toMatch(/^\+OK/);
    expect(await client.command('STAT')).toMatch(/^\+OK 3 /);
    await quit(client);
    expect(server.messages('alice')).toHaveLength(3);
  });

  it('with EXPIRE 0, QUIT also removes what was retrieved but not deleted', async () => {
    const server = await serve({ expireZero: true });
    const client = await logIn(server);
    await multiline(client, 'RETR 1');
    await multiline(client, 'TOP 2 0');
    await quit(client);
    expect(server.messages('alice')).toEqual([SECOND, THIRD]);
  });

  it('close() ends open sessions without committing their deletions', async () => {
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages: [FIRST] }],
    });
    const client = await logIn(server);
    clients.push(client);
    await client.command('DELE 1');
    await server.close();
    await client.closed;
    expect(server.messages('alice')).toEqual([FIRST]);
  });
});

describe('memory POP3 server: backpressure', () => {
  it('stops handling pipelined commands while the client is not reading, and loses nothing', async () => {
    // Larger than the loopback socket buffers can hold, so the server must wait for the client.
    const big = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789\r\n'.repeat(1024 * 1024));
    const server = await serve({ users: [{ name: 'alice', password: 'secret', messages: [big, SECOND] }] });
    const socket = net.connect({ host: server.host, port: server.port });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('USER alice\r\nPASS secret\r\nDELE 2\r\nRETR 1\r\nQUIT\r\n');
    socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Still blocked sending RETR 1 into a full socket: QUIT has not been read, nothing was deleted.
    expect(server.messages('alice')).toHaveLength(2);

    socket.resume();
    await closed;
    const transcript = Buffer.concat(received);
    const status = `+OK ${big.length} octets\r\n`;
    const bodyStart = transcript.indexOf(status) + status.length;
    const bodyEnd = transcript.indexOf('\r\n.\r\n', bodyStart) + 2;
    expect(transcript.subarray(0, bodyStart - status.length).toString()).toMatch(
      /^\+OK .*\r\n\+OK send PASS\r\n\+OK alice has 2 messages\r\n\+OK message 2 marked for deletion\r\n$/,
    );
    // No line of `big` starts with a dot, so its stuffed form is itself.
    expect(transcript.subarray(bodyStart, bodyEnd).equals(big)).toBe(true);
    expect(transcript.subarray(bodyEnd).toString()).toMatch(/^\.\r\n\+OK 1 messages deleted, 1 left\r\n$/);
    // Compared with Buffer#equals: a deep equality over 40 MB would take minutes.
    const left = server.messages('alice');
    expect(left).toHaveLength(1);
    expect(left[0]!.equals(big)).toBe(true);
  });
});

describe('dot-stuffing and TOP helpers', () => {
  it('stuffs the first line and lines after CRLF only', () => {
    const stuffed = Buffer.concat(dotStuffed(Buffer.from('.a\r\n.b\n.c\r\n')));
    expect(stuffed.toString()).toBe('..a\r\n..b\n.c\r\n');
  });

  it('TOP of a message without an empty line is the whole message', () => {
    const headersOnly = Buffer.from('Subject: x\r\nFrom: y\r\n');
    expect(topOf(headersOnly, 0).equals(headersOnly)).toBe(true);
  });

  it('TOP of a message that starts with the empty line has no headers', () => {
    expect(topOf(Buffer.from('\r\nbody 1\r\nbody 2\r\n'), 1).toString()).toBe('\r\nbody 1\r\n');
  });
});
