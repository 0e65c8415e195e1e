/**
 * AUTH exchanges that do not end in +OK (RFC 5034 §4): a rejected XOAUTH2 token, a challenge the client
 * cannot read, and the "=" that stands for an empty initial response.
 */
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../../lib/deadline.ts';
import { Pop3Commands } from '../../../lib/pop3/commands.ts';
import { Pop3AuthenticationError, Pop3ProtocolError } from '../../../lib/pop3/errors.ts';
import { Conversation } from '../../../lib/pop3-client/conversation.ts';
import { Transport } from '../../../lib/pop3-client/transport.ts';
import type { Credentials } from '../../../lib/ports.ts';
import { base64, connectTo, rejectionOf, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };

describe('AUTH that fails', () => {
  it('XOAUTH2: a rejected token comes back as a JSON challenge, acknowledged with an empty line', async () => {
    const problem = base64('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}');
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${base64('user=alice@example.com\x01auth=Bearer expired\x01\x01')}
      S: + ${problem}
      C:
      S: -ERR [AUTH] Invalid credentials
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(
      client.login({ kind: 'oauth2', username: 'alice@example.com', accessToken: 'expired' }, 'xoauth2'),
    );
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    expect((error as Pop3AuthenticationError).hasCode('AUTH')).toBe(true);
    expect(client.state).toBe('AUTHORIZATION');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('a challenge that is not base64 is cancelled with "*"', async () => {
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL CRAM-MD5
      S: .
      C: AUTH CRAM-MD5
      S: + this is not base64!
      C: *
      S: -ERR authentication cancelled
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(alice, 'cram-md5'));
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(error.message).toMatch(/not valid base64/);
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('XOAUTH2 two-step: a rejected long token is acknowledged the same way', async () => {
    const accessToken = `eyJ0eXAiOiJKV1Qi.${'y'.repeat(300)}`;
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2
      S: +
      C: ${base64(`user=alice@example.com\x01auth=Bearer ${accessToken}\x01\x01`)}
      S: + ${base64('{"status":"400"}')}
      C:
      S: -ERR [AUTH] AUTHENTICATE failed
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(
      client.login({ kind: 'oauth2', username: 'alice@example.com', accessToken }),
    );
    expect(error).toBeInstanceOf(Pop3AuthenticationError);
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('a challenge after the last client message is cancelled with "*"', async () => {
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN
      S: .
      C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
      S: + ${base64('and one more thing')}
      C: *
      S: -ERR cancelled
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server);
    const error = await rejectionOf(client.login(alice, 'plain'));
    expect(error).toBeInstanceOf(Pop3ProtocolError);
    expect(client.state).toBe('AUTHORIZATION');
    await client.quit();
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});

describe('an empty initial response', () => {
  // No mechanism the client logs in with starts with an empty message (EXTERNAL would), so this drives
  // the conversation directly: what matters is the line on the wire.
  it('is sent as "=", distinct from no initial response', async () => {
    const script = transcript(`
      S: +OK ready
      C: AUTH EXTERNAL =
      S: -ERR [AUTH] no client certificate
      C: AUTH EXTERNAL
      S: +OK
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
      // Refused first: after a +OK the session is in TRANSACTION, where the connection refuses AUTH.
      const error = await rejectionOf(conversation.send(Pop3Commands.auth('EXTERNAL', 'empty')));
      expect(error).toBeInstanceOf(Pop3AuthenticationError);
      const reply = await conversation.send(Pop3Commands.auth('EXTERNAL'));
      expect(reply.status.kind).toBe('+OK');
    } finally {
      conversation.close();
    }
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});
