/**
 * UTF-8 mode (RFC 6856): UTF8 goes out after login, before anything is listed or retrieved, when CAPA
 * lists UTF8, and not otherwise. The server below behaves like those that rewrite 8-bit headers for
 * legacy clients: without UTF8 it hands out a different message than the sender sent.
 */
import { describe, expect, it } from 'vitest';
import type { ScriptConnection } from '../../support/script-server.ts';
import { ALICE, connectTo, play, readAll, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();

const ORIGINAL = Buffer.from('Subject: Grüße aus Köln\r\nFrom: jörg@example.de\r\n\r\nHallo\r\n', 'utf8');
/** What a legacy-mode server makes of it: 8-bit headers downgraded to encoded words (RFC 2047). */
const DOWNGRADED = Buffer.from(
  'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\nFrom: =?utf-8?q?j=C3=B6rg?=@example.de\r\n\r\nHallo\r\n',
  'latin1',
);

function login(utf8Offered: boolean) {
  const capa = utf8Offered ? 'S: UTF8\n' : '';
  return transcript(`
    S: +OK ready
    C: CAPA
    S: +OK
    S: USER
    ${capa}
    S: .
    C: USER alice
    S: +OK
    C: PASS secret
    S: +OK
    C: CAPA
    S: +OK
    ${capa}
    S: .
  `);
}

/** After login: UTF8 switches the mode; RETR 1 serves the original only in UTF-8 mode. */
function server(utf8Offered: boolean) {
  return async (conn: ScriptConnection) => {
    await play(conn, login(utf8Offered));
    let utf8Mode = false;
    for (;;) {
      const line = await conn.readLine();
      if (line === 'UTF8' && utf8Offered) {
        utf8Mode = true;
        await conn.write('+OK UTF8 enabled\r\n');
      } else if (line === 'RETR 1') {
        await conn.write(
          Buffer.concat([Buffer.from('+OK\r\n'), utf8Mode ? ORIGINAL : DOWNGRADED, Buffer.from('.\r\n')]),
        );
      } else if (line === 'QUIT') {
        await conn.write('+OK\r\n');
        return;
      } else {
        await conn.write('-ERR unknown command\r\n');
      }
    }
  };
}

describe('UTF8 (RFC 6856)', () => {
  it('is sent after login when CAPA lists UTF8, and the message comes as the sender sent it', async () => {
    const scripted = await startServer(server(true));
    const client = await connectTo(scripted);
    await client.login(ALICE, 'user');
    expect(client.utf8Mode).toBe(true);
    const message = await readAll(client.retr(1));
    await client.quit();
    await scripted.done;
    expect(message.equals(ORIGINAL)).toBe(true);
    expect(scripted.received.toString('latin1')).toBe(`${login(true).clientBytes}UTF8\r\nRETR 1\r\nQUIT\r\n`);
  });

  it('is not sent when CAPA does not list it; such a server then serves other bytes', async () => {
    const scripted = await startServer(server(false));
    const client = await connectTo(scripted);
    await client.login(ALICE, 'user');
    expect(client.utf8Mode).toBe(false);
    const message = await readAll(client.retr(1));
    await client.quit();
    await scripted.done;
    expect(message.equals(DOWNGRADED)).toBe(true);
    expect(message.equals(ORIGINAL)).toBe(false);
    expect(scripted.received.toString('latin1')).toBe(`${login(false).clientBytes}RETR 1\r\nQUIT\r\n`);
  });

  it('is not sent when turned off, even where offered (and the server then downgrades)', async () => {
    const scripted = await startServer(server(true));
    const client = await connectTo(scripted, { utf8: false });
    await client.login(ALICE, 'user');
    expect(client.utf8Mode).toBe(false);
    const message = await readAll(client.retr(1));
    await client.quit();
    await scripted.done;
    expect(message.equals(DOWNGRADED)).toBe(true);
    expect(scripted.received.toString('latin1')).not.toContain('UTF8');
  });
});
