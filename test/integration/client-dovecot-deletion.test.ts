/**
 * Deletion against a real Dovecot (RFC 1939 §6): DELE only marks a message; the UPDATE state entered by a
 * confirmed QUIT removes the marked ones. A session that ends any other way removes nothing, which is
 * what makes "DELE only after S3 and SQS confirmed" safe when the connection drops halfway.
 */
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import type { Credentials } from '../../lib/ports.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const USERS = [
  { name: 'desk', password: 'desk-pop3-password' },
  { name: 'dropped', password: 'dropped-pop3-password' },
  { name: 'undone', password: 'undone-pop3-password' },
  { name: 'abandoned', password: 'abandoned-pop3-password' },
];

let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: USERS });
});

afterAll(async () => {
  await server?.stop();
});

function credentials(name: string): Credentials {
  const user = USERS.find((candidate) => candidate.name === name)!;
  return { kind: 'password', username: user.name, password: user.password };
}

async function session(name: string): Promise<Pop3Client> {
  const client = await Pop3Client.connect({
    host: server.host,
    port: server.pop3sPort,
    tls: 'implicit',
    ca: server.caPem,
    servername: 'localhost',
  });
  await client.login(credentials(name));
  return client;
}

function messages(user: string, count: number): Buffer[] {
  return Array.from({ length: count }, (_, index) =>
    Buffer.from(
      `Message-ID: <${index + 1}.${user}@deletion.test>\r\nSubject: number ${index + 1}\r\n\r\nbody\r\n`,
    ),
  );
}

/** Dovecot logs the end of each mail session; waiting for it proves the server has finished with one. */
async function sessionEnded(user: string, logOffset: number): Promise<string> {
  return vi.waitFor(
    () => {
      const line = server
        .readLog()
        .slice(logOffset)
        .split('\n')
        .find((candidate) => candidate.includes(`pop3(${user})`) && candidate.includes('Disconnected'));
      if (line === undefined) throw new Error(`Dovecot has not ended the session of ${user} yet`);
      return line;
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe('DELE and QUIT', () => {
  it('removes exactly the deleted messages, and the rest keep their UIDLs and bytes', async () => {
    const seeded = messages('desk', 5);
    await server.seed('desk', seeded);

    const logOffset = server.readLog().length;
    const first = await session('desk');
    const before = await first.uidl();
    expect(before.map((entry) => entry.msg)).toEqual([1, 2, 3, 4, 5]);
    await Promise.all([first.dele(2), first.dele(4)]);
    // Marked messages are hidden from the rest of the session (RFC 1939 §5).
    expect((await first.list()).map((entry) => entry.msg)).toEqual([1, 3, 5]);
    expect(await first.quit()).toEqual({ confirmed: true, text: 'Logging out, messages deleted.' });

    expect(await sessionEnded('desk', logOffset)).toContain('del=2/5');
    expect(await server.messageCount('desk')).toBe(3);
    const second = await session('desk');
    const kept = [0, 2, 4];
    expect((await second.uidl()).map((entry) => entry.uidl)).toEqual(
      kept.map((index) => before[index]!.uidl),
    );
    const bodies = await Promise.all([1, 2, 3].map((msg) => buffer(second.retr(msg))));
    expect(bodies).toEqual(kept.map((index) => seeded[index]));
    expect(await second.quit()).toMatchObject({ confirmed: true });
  });

  it('a connection dropped after DELE, before QUIT, deletes nothing', async () => {
    await server.seed('dropped', messages('dropped', 3));
    const client = await session('dropped');
    const before = await client.uidl();
    await Promise.all([client.dele(1), client.dele(2), client.dele(3)]);
    expect(await client.stat()).toEqual({ count: 0, octets: 0 });

    const logOffset = server.readLog().length;
    client.abort();
    // Only once Dovecot has closed that session can its (absent) UPDATE state be judged. Its log counts
    // deleted/present messages as del=d/m.
    const ended = await sessionEnded('dropped', logOffset);
    expect(ended).toContain('Disconnected: Connection closed');
    expect(ended).toContain('del=0/3');

    expect(await server.messageCount('dropped')).toBe(3);
    const again = await session('dropped');
    expect(await again.uidl()).toEqual(before);
    expect(await again.quit()).toMatchObject({ confirmed: true });
  });

  it('RSET unmarks: after DELE, RSET and QUIT every message is still there', async () => {
    await server.seed('undone', messages('undone', 2));
    const client = await session('undone');
    const before = await client.uidl();
    await Promise.all([client.dele(1), client.dele(2)]);
    await client.rset();
    expect(await client.stat()).toMatchObject({ count: 2 });
    expect(await client.quit()).toMatchObject({ confirmed: true });

    expect(await server.messageCount('undone')).toBe(2);
    const again = await session('undone');
    expect(await again.uidl()).toEqual(before);
    await again.quit();
  });

  it('QUIT after the drop is not confirmed, so a caller never counts deletions that did not happen', async () => {
    await server.seed('abandoned', messages('abandoned', 2));
    const client = await session('abandoned');
    await client.dele(1);
    const logOffset = server.readLog().length;
    client.abort();
    expect(await client.quit()).toEqual({ confirmed: false, text: undefined });
    expect(await sessionEnded('abandoned', logOffset)).toContain('del=0/2');
    expect(await server.messageCount('abandoned')).toBe(2);
  });
});
