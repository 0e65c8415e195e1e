/**
 * Logging in, byte for byte: USER/PASS and APOP (RFC 1939 §7), AUTH (RFC 5034) with PLAIN, LOGIN,
 * CRAM-MD5 and XOAUTH2, and the `auto` choice between them.
 */
import { describe, expect, it } from 'vitest';
import type { AuthMethod } from '../../../lib/config/types.ts';
import { MAX_COMMAND_OCTETS } from '../../../lib/pop3/limits.ts';
import type { Pop3Client } from '../../../lib/pop3-client/client.ts';
import type { Credentials } from '../../../lib/ports.ts';
import type { ScriptServer } from '../../support/script-server.ts';
import { base64, connectTo, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };

/** After the login: the second CAPA (some servers change it after login), then QUIT. */
const AFTER_LOGIN = `
  C: CAPA
  S: +OK
  S: .
  C: QUIT
  S: +OK
`;

/**
 * Plays `conversation`, logs in with `method`, quits, and checks the server received exactly the `C:`
 * lines. Returns the client for further checks.
 */
async function loginTranscript(
  conversation: string,
  credentials: Credentials,
  method: AuthMethod,
): Promise<{ client: Pop3Client; server: ScriptServer }> {
  const script = transcript(conversation + AFTER_LOGIN);
  const server = await startServer(script.steps);
  const client = await connectTo(server);
  await client.login(credentials, method);
  expect(client.state).toBe('TRANSACTION');
  await client.quit();
  await server.done;
  expect(server.received.toString('latin1')).toBe(script.clientBytes);
  return { client, server };
}

describe('USER and PASS (RFC 1939 §7)', () => {
  it('sends the name, then the password (spaces included) after +OK', async () => {
    const { client } = await loginTranscript(
      `
      S: +OK POP3 server ready
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: USER alice
      S: +OK alice is welcome here
      C: PASS correct horse battery staple
      S: +OK alice's maildrop has 2 messages (320 octets)
      `,
      { kind: 'password', username: 'alice', password: 'correct horse battery staple' },
      'user',
    );
    expect(client.mechanism).toBe('USER');
  });
});

describe('APOP (RFC 1939 §7)', () => {
  it('sends the digest of the example in the RFC', async () => {
    const { client } = await loginTranscript(
      `
      S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
      C: CAPA
      S: -ERR what is CAPA
      C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
      S: +OK maildrop has 1 message (369 octets)
      `,
      { kind: 'password', username: 'mrose', password: 'tanstaaf' },
      'apop',
    );
    expect(client.mechanism).toBe('APOP');
  });
});

describe('AUTH (RFC 5034)', () => {
  it('PLAIN sends the credentials as the initial response', async () => {
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN
      S: .
      C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
      S: +OK
      `,
      alice,
      'plain',
    );
  });

  it('PLAIN carries a user name with a space, which USER could not', async () => {
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN
      S: .
      C: AUTH PLAIN ${base64('\0EXAMPLE\\john smith\0secret')}
      S: +OK
      `,
      { kind: 'password', username: 'EXAMPLE\\john smith', password: 'secret' },
      'plain',
    );
  });

  it('LOGIN answers the user name and password prompts in turn', async () => {
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL LOGIN
      S: .
      C: AUTH LOGIN
      S: + VXNlcm5hbWU6
      C: YWxpY2U=
      S: + UGFzc3dvcmQ6
      C: c2VjcmV0
      S: +OK
      `,
      alice,
      'login',
    );
  });

  it('CRAM-MD5 answers the challenge of the example in RFC 2195', async () => {
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL CRAM-MD5
      S: .
      C: AUTH CRAM-MD5
      S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
      C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
      S: +OK
      `,
      { kind: 'password', username: 'tim', password: 'tanstaaftanstaaf' },
      'cram-md5',
    );
  });

  it('XOAUTH2 sends a short token as the initial response', async () => {
    const token: Credentials = { kind: 'oauth2', username: 'alice@example.com', accessToken: 'ya29.short' };
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${base64('user=alice@example.com\x01auth=Bearer ya29.short\x01\x01')}
      S: +OK
      `,
      token,
      'xoauth2',
    );
  });

  it('XOAUTH2 sends a token too long for the AUTH line after an empty challenge', async () => {
    const accessToken = `eyJ0eXAiOiJKV1Qi.${'x'.repeat(300)}`;
    const response = base64(`user=alice@example.com\x01auth=Bearer ${accessToken}\x01\x01`);
    expect(`AUTH XOAUTH2 ${response}\r\n`.length).toBeGreaterThan(MAX_COMMAND_OCTETS);
    await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2
      S: + 
      C: ${response}
      S: +OK
      `,
      { kind: 'oauth2', username: 'alice@example.com', accessToken },
      'xoauth2',
    );
  });
});

describe('auto picks the strongest mechanism the server offers', () => {
  const greetingWithTimestamp = 'S: +OK ready <1896.697170952@dbc.mtview.ca.us>';

  it('CRAM-MD5 over APOP, PLAIN, LOGIN and USER', async () => {
    const { client } = await loginTranscript(
      `
      ${greetingWithTimestamp}
      C: CAPA
      S: +OK
      S: USER
      S: SASL PLAIN LOGIN CRAM-MD5
      S: .
      C: AUTH CRAM-MD5
      S: + PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+
      C: dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw
      S: +OK
      `,
      { kind: 'password', username: 'tim', password: 'tanstaaftanstaaf' },
      'auto',
    );
    expect(client.mechanism).toBe('CRAM-MD5');
  });

  it('APOP over PLAIN: the password stays off the wire', async () => {
    const { client } = await loginTranscript(
      `
      ${greetingWithTimestamp}
      C: CAPA
      S: +OK
      S: USER
      S: SASL PLAIN LOGIN
      S: .
      C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
      S: +OK
      `,
      { kind: 'password', username: 'mrose', password: 'tanstaaf' },
      'auto',
    );
    expect(client.mechanism).toBe('APOP');
  });

  it('PLAIN over LOGIN', async () => {
    const { client } = await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL LOGIN PLAIN
      S: .
      C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
      S: +OK
      `,
      alice,
      'auto',
    );
    expect(client.mechanism).toBe('PLAIN');
  });

  it('USER when the server offers no SASL', async () => {
    const { client } = await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: USER
      S: .
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      `,
      alice,
      'auto',
    );
    expect(client.mechanism).toBe('USER');
  });

  it('XOAUTH2 for a token, even when PLAIN is offered first', async () => {
    const { client } = await loginTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${base64('user=bob@example.com\x01auth=Bearer ya29.t\x01\x01')}
      S: +OK
      `,
      { kind: 'oauth2', username: 'bob@example.com', accessToken: 'ya29.t' },
      'auto',
    );
    expect(client.mechanism).toBe('XOAUTH2');
  });
});
