/**
 * Fewer round trips per poll, within RFC 2449's rule (pipeline only once CAPA said PIPELINING): USER and
 * PASS in one write, the CAPA after login in the same write as the listing, and no wait for QUIT's reply
 * when nothing was deleted. Each transcript puts client lines back to back where the client must not
 * wait: a client that waits for the reply in between never sends the next line, and the test fails.
 */
import { describe, expect, it } from 'vitest';
import type { Credentials } from '../../../lib/pop3/credentials.ts';
import { Pop3ServerError } from '../../../lib/pop3/errors.ts';
import {
  base64,
  connectTo,
  readAll,
  rejectionOf,
  scriptServers,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();
const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };
const PIPELINING_CAPA = `
  C: CAPA
  S: +OK
  S: USER
  S: PIPELINING
  S: SASL LOGIN
  S: .
`;

describe('USER and PASS together when CAPA lists PIPELINING', () => {
  it('PASS leaves before the reply to USER; CAPA after login goes with UIDL and LIST', async () => {
    const script = transcript(`
      S: +OK ready
      ${PIPELINING_CAPA}
      C: USER alice
      C: PASS secret
      S: +OK
      S: +OK logged in
      C: CAPA
      C: UIDL
      C: LIST
      S: +OK
      S: USER
      S: PIPELINING
      S: EXPIRE NEVER
      S: .
      S: +OK
      S: .
      S: +OK
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('USER');
    const [uidls, listing] = await Promise.all([client.uidl(), client.list()]);
    expect([uidls.length, listing.length]).toEqual([0, 0]);
    // The CAPA reply came first and was read before the listing's.
    expect(client.capabilities.expire).toBe('NEVER');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('USER refused: the PASS behind it was no check of the password, so SASL LOGIN is tried', async () => {
    const script = transcript(`
      S: +OK ready
      ${PIPELINING_CAPA}
      C: USER alice
      C: PASS secret
      S: -ERR USER is switched off here
      S: -ERR no USER given
      C: AUTH LOGIN
      S: + ${base64('Username:')}
      C: ${base64('alice')}
      S: + ${base64('Password:')}
      C: ${base64('secret')}
      S: +OK
      C: CAPA
      S: +OK
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    expect(client.mechanism).toBe('LOGIN');
    // Without PIPELINING after login, nothing more is pipelined: QUIT waits for CAPA's reply.
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('without PIPELINING, PASS waits for the reply to USER and login waits for CAPA (RFC 2449)', async () => {
    const script = transcript(`
      S: +OK ready
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
      S: PIPELINING
      S: .
      C: UIDL
      C: LIST
      S: +OK
      S: .
      S: +OK
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    await Promise.all([client.uidl(), client.list()]);
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('the CAPA after login, unanswered', () => {
  it('a CAPA refused with a code fails what follows with that error, at once, as a failed login did', async () => {
    const script = transcript(`
      S: +OK ready
      ${PIPELINING_CAPA}
      C: USER alice
      C: PASS secret
      S: +OK
      S: +OK
      C: CAPA
      C: LIST
      S: -ERR [SYS/TEMP] maildrop unavailable
      S: <stall>
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    const error = await rejectionOf(client.list());
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect((error as Pop3ServerError).hasCode('SYS/TEMP')).toBe(true);
  });

  it('UTF8 offered only after login: RETR waits behind the CAPA and the UTF8 it turns on', async () => {
    const script = transcript(`
      S: +OK ready
      ${PIPELINING_CAPA}
      C: USER alice
      C: PASS secret
      S: +OK
      S: +OK
      C: CAPA
      C: LIST
      S: +OK
      S: PIPELINING
      S: UTF8
      S: .
      S: +OK
      S: 1 20
      S: .
      C: UTF8
      S: +OK UTF-8 mode
      C: RETR 1
      S: +OK
      S: Subject: caf\u00e9
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    const listing = client.list();
    const message = readAll(client.retr(1)); // issued before any reply: must still follow UTF8
    expect((await listing).length).toBe(1);
    expect((await message).toString('utf8')).toBe('Subject: caf\u00e9\r\n');
    expect(client.utf8Mode).toBe(true);
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe("QUIT's reply is waited for only when the session deleted or retrieved something", () => {
  const loggedIn = `
    S: +OK ready
    ${PIPELINING_CAPA}
    C: USER alice
    C: PASS secret
    S: +OK
    S: +OK
    C: CAPA
    C: STAT
    S: +OK
    S: PIPELINING
    S: .
    S: +OK 1 20
  `;

  it("no DELE, no RETR: QUIT is sent, and quit({ waitForReply: 'if-changed' }) returns without its reply", async () => {
    const script = transcript(`
      ${loggedIn}
      C: QUIT
      S: <stall>
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    await client.stat();
    expect(await client.quit({ waitForReply: 'if-changed' })).toEqual({
      confirmed: true,
      text: undefined,
      answered: false,
    });
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it("after a DELE, quit({ waitForReply: 'if-changed' }) waits: QUIT's +OK is what commits it", async () => {
    const script = transcript(`
      ${loggedIn}
      C: DELE 1
      S: +OK
      C: QUIT
      S: +OK bye
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    await client.stat();
    await client.dele(1);
    expect(await client.quit({ waitForReply: 'if-changed' })).toEqual({ confirmed: true, text: 'bye' });
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('after a RETR without DELE it waits too: EXPIRE servers count retrievals at QUIT', async () => {
    const script = transcript(`
      ${loggedIn}
      C: RETR 1
      S: +OK
      S: Subject: kept
      S: .
      C: QUIT
      S: +OK bye
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    await client.login(alice, 'auto');
    await client.stat();
    await readAll(client.retr(1));
    expect(await client.quit({ waitForReply: 'if-changed' })).toEqual({ confirmed: true, text: 'bye' });
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});
