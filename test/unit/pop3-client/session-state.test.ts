/**
 * The session state as the connection owns it, over a real socket to the scriptable server: a second
 * STLS is refused without a byte on the wire, and nothing leaves after QUIT, even a RETR the client
 * held back behind the CAPA after login.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../../lib/deadline.ts';
import { Pop3Commands } from '../../../lib/pop3/commands.ts';
import { Pop3UsageError } from '../../../lib/pop3/errors.ts';
import { Conversation } from '../../../lib/pop3-client/conversation.ts';
import { Transport } from '../../../lib/pop3-client/transport.ts';
import { testCertificates } from '../../support/certs.ts';
import {
  ALICE,
  connectTo,
  play,
  readAll,
  rejectionOf,
  scriptServers,
  transcript,
} from '../../support/transcript.ts';

const startServer = scriptServers();

/** How long the server listens for a line the client must not send. */
const QUIET_MS = 150;

describe('STLS through the client conversation', () => {
  it('a second STLS is refused locally after the upgrade: one STLS on the wire', async () => {
    const script = transcript(`
      S: +OK ready
      C: STLS
      S: +OK Begin TLS negotiation
      S: <tls>
      C: CAPA
      S: +OK
      S: USER
      S: .
    `);
    const server = await startServer(script.steps);
    const transport = await Transport.connect({
      host: server.host,
      port: server.port,
      implicitTls: false,
      tls: {},
      connectTimeoutMs: 5_000,
      tlsTimeoutMs: 5_000,
    });
    const conversation = new Conversation(transport, {
      idleTimeoutMs: 5_000,
      deadline: Deadline.never(),
      window: 1,
    });
    try {
      await conversation.greeting(5_000);
      await conversation.send(Pop3Commands.stls());
      await conversation.upgradeToTls(() =>
        transport.upgradeToTls({ ca: testCertificates().caPem }, server.host, 5_000),
      );
      expect(conversation.session.tlsActive).toBe(true);
      const error = await rejectionOf(conversation.send(Pop3Commands.stls()));
      expect(error).toBeInstanceOf(Pop3UsageError);
      expect(error.message).toMatch(/STLS cannot be sent twice: TLS is already active/);
      // The session goes on: the refusal was local, and CAPA is the next line the server reads.
      expect((await conversation.send(Pop3Commands.capa())).value.user).toBe(true);
      await server.done;
    } finally {
      conversation.close();
    }
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('QUIT ends the session in the connection', () => {
  it('a RETR held behind the CAPA after login and overtaken by QUIT is refused, never written after QUIT', async () => {
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: USER
      S: PIPELINING
      S: .
      C: USER alice
      C: PASS secret
      S: +OK
      S: +OK
      C: CAPA
      S: +OK
      S: USER
      S: PIPELINING
      S: .
      C: QUIT
      S: +OK bye
    `);
    const server = await startServer(async (conn) => {
      await play(conn, script);
      // Whatever the client sends now arrives after QUIT: the record below must not show it.
      await Promise.race([conn.closed, sleep(QUIET_MS)]);
    });
    const client = await connectTo(server);
    await client.login(ALICE, 'user'); // the CAPA after login is sent, its reply not awaited
    const message = client.retr(1); // held until that CAPA is answered
    const quit = client.quit(); // not held: it leaves as soon as CAPA's reply is in
    expect(client.state).toBe('UPDATE');
    const error = await rejectionOf(readAll(message));
    expect(error).toBeInstanceOf(Pop3UsageError);
    expect(error.message).toBe('RETR cannot be sent after QUIT');
    expect((await quit).confirmed).toBe(true);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});
