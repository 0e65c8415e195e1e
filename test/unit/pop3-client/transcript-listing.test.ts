/**
 * LIST and UIDL listings through the client, byte for byte: the client keeps at most `maxListingEntries`
 * entries (the rest are read, checked and dropped, so the conversation stays in step), and a bad line
 * fails the command and drops the connection at once: the rest of a broken listing may never end.
 */
import { describe, expect, it } from 'vitest';
import { Pop3ProtocolError } from '../../../lib/pop3/errors.ts';
import { MAX_LISTING_LINE_OCTETS } from '../../../lib/pop3/limits.ts';
import type { Pop3Client } from '../../../lib/pop3-client/client.ts';
import type { Pop3ClientOptions } from '../../../lib/pop3-client/options.ts';
import type { ScriptServer } from '../../support/script-server.ts';
import {
  ALICE,
  ALICE_LOGIN,
  connectTo,
  play,
  rejectionOf,
  scriptServers,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();

async function loggedIn(
  conversation: string,
  options: Partial<Pop3ClientOptions> = {},
): Promise<{ client: Pop3Client; server: ScriptServer; sent: string }> {
  const script = transcript(conversation);
  const server = await startServer([...ALICE_LOGIN.steps, ...script.steps]);
  const client = await connectTo(server, options);
  await client.login(ALICE, 'user');
  return { client, server, sent: ALICE_LOGIN.clientBytes + script.clientBytes };
}

async function expectExactly(server: ScriptServer, sent: string): Promise<void> {
  await server.done;
  expect(server.received.toString('latin1')).toBe(sent);
}

describe('listings larger than the client keeps', () => {
  it('keeps the first maxListingEntries entries, counts the rest, and stays in step', async () => {
    const { client, server, sent } = await loggedIn(
      `
        C: LIST
        S: +OK 5 messages
        S: 1 100
        S: 2 200
        S: 3 300
        S: 4 400
        S: 5 500
        S: .
        C: UIDL
        S: +OK
        S: 1 a
        S: 2 b
        S: 3 c
        S: .
        C: QUIT
        S: +OK
      `,
      { maxListingEntries: 2 },
    );
    const listing = await client.list();
    expect(listing).toEqual([
      { msg: 1, octets: 100 },
      { msg: 2, octets: 200 },
    ]);
    expect(listing.omitted).toBe(3);
    const uidls = await client.uidl();
    expect(uidls.map((entry) => entry.uidl)).toEqual(['a', 'b']);
    expect(uidls.omitted).toBe(1);
    expect((await client.quit()).confirmed).toBe(true);
    await expectExactly(server, sent);
  });

  it('a malformed line fails LIST as soon as it arrives and drops the connection', async () => {
    const server = await startServer([
      ...ALICE_LOGIN.steps,
      ...transcript(`
        C: LIST
        S: +OK
        S: 1 100
        S: two hundred
        S: <stall>
      `).steps,
    ]);
    const client = await connectTo(server);
    await client.login(ALICE, 'user');
    const error = await rejectionOf(client.list());
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toContain('line 2 of the LIST reply');
    expect(await rejectionOf(client.noop())).toBe(error);
    await server.done; // the stall ends because the client hung up
  });

  it('a line that never ends fails UIDL after MAX_LISTING_LINE_OCTETS, not at the end of the reply', async () => {
    let sent = 0;
    const server = await startServer(async (conn) => {
      await play(conn, ALICE_LOGIN);
      await play(conn, transcript('C: UIDL\n S: +OK'));
      const chunk = 'x'.repeat(4096);
      while (sent < 64 * 1024 * 1024) {
        try {
          await conn.write(chunk);
        } catch {
          return;
        }
        sent += chunk.length;
      }
    });
    const client = await connectTo(server);
    await client.login(ALICE, 'user');
    const error = await rejectionOf(client.uidl());
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toContain(`longer than ${MAX_LISTING_LINE_OCTETS} octets`);
    await server.done;
    // The client hung up at the first long line: what got out beyond it fits in the socket buffers.
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });
});
