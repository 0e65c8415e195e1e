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

interface LoginCase {
  readonly name: string;
  /** What the server says (`S:`) and what the client must send (`C:`), up to the login's end. */
  readonly conversation: string;
  readonly credentials: Credentials;
  readonly method: AuthMethod;
  /** The mechanism the client reports once logged in. */
  readonly mechanism: string;
}

const TIM: Credentials = { kind: 'password', username: 'tim', password: 'tanstaaftanstaaf' };
const MROSE: Credentials = { kind: 'password', username: 'mrose', password: 'tanstaaf' };
/** Each mechanism asked for by name: the bytes of RFC 1939 §7, RFC 5034 and their examples. */
const BY_NAME: readonly LoginCase[] = [
  {
    name: 'USER and PASS (RFC 1939 §7) sends the name, then the password (spaces included) after +OK',
    conversation: `
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
    credentials: { kind: 'password', username: 'alice', password: 'correct horse battery staple' },
    method: 'user',
    mechanism: 'USER',
  },
  {
    name: 'APOP (RFC 1939 §7) sends the digest of the example in the RFC',
    conversation: `
      S: +OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>
      C: CAPA
      S: -ERR what is CAPA
      C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
      S: +OK maildrop has 1 message (369 octets)
      `,
    credentials: MROSE,
    method: 'apop',
    mechanism: 'APOP',
  },
  {
    name: 'AUTH PLAIN (RFC 5034) sends the credentials as the initial response',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN
      S: .
      C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
      S: +OK
      `,
    credentials: alice,
    method: 'plain',
    mechanism: 'PLAIN',
  },
  {
    name: 'AUTH PLAIN (RFC 5034) carries a user name with a space, which USER could not',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN
      S: .
      C: AUTH PLAIN ${base64('\0EXAMPLE\\john smith\0secret')}
      S: +OK
      `,
    credentials: { kind: 'password', username: 'EXAMPLE\\john smith', password: 'secret' },
    method: 'plain',
    mechanism: 'PLAIN',
  },
  {
    name: 'AUTH LOGIN (RFC 5034) answers the user name and password prompts in turn',
    conversation: `
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
    credentials: alice,
    method: 'login',
    mechanism: 'LOGIN',
  },
  {
    name: 'AUTH CRAM-MD5 (RFC 5034) answers the challenge of the example in RFC 2195',
    conversation: `
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
    credentials: TIM,
    method: 'cram-md5',
    mechanism: 'CRAM-MD5',
  },
  {
    name: 'AUTH XOAUTH2 (RFC 5034) sends a short token as the initial response',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${base64('user=alice@example.com\x01auth=Bearer ya29.short\x01\x01')}
      S: +OK
      `,
    credentials: { kind: 'oauth2', username: 'alice@example.com', accessToken: 'ya29.short' },
    method: 'xoauth2',
    mechanism: 'XOAUTH2',
  },
];

describe('each mechanism asked for by name', () => {
  // Rows as [name, row] so that vitest prints each name whole and unquoted ('%s').
  it.each(BY_NAME.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const { conversation, credentials, method, mechanism } = row;
    const { client } = await loginTranscript(conversation, credentials, method);
    expect(client.mechanism).toBe(mechanism);
  });

  it('AUTH XOAUTH2 (RFC 5034) sends a token too long for the AUTH line after an empty challenge', async () => {
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

const TIMESTAMP_GREETING = 'S: +OK ready <1896.697170952@dbc.mtview.ca.us>';

/** `auto`: what the server offers decides, strongest first. */
const AUTO: readonly LoginCase[] = [
  {
    name: 'CRAM-MD5 over APOP, PLAIN, LOGIN and USER',
    conversation: `
      ${TIMESTAMP_GREETING}
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
    credentials: TIM,
    method: 'auto',
    mechanism: 'CRAM-MD5',
  },
  {
    name: 'APOP over PLAIN: the password stays off the wire',
    conversation: `
      ${TIMESTAMP_GREETING}
      C: CAPA
      S: +OK
      S: USER
      S: SASL PLAIN LOGIN
      S: .
      C: APOP mrose c4c9334bac560ecc979e58001b3e22fb
      S: +OK
      `,
    credentials: MROSE,
    method: 'auto',
    mechanism: 'APOP',
  },
  {
    name: 'PLAIN over LOGIN',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL LOGIN PLAIN
      S: .
      C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
      S: +OK
      `,
    credentials: alice,
    method: 'auto',
    mechanism: 'PLAIN',
  },
  {
    name: 'USER when the server offers no SASL',
    conversation: `
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
    credentials: alice,
    method: 'auto',
    mechanism: 'USER',
  },
  {
    name: 'XOAUTH2 for a token, even when PLAIN is offered first',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL PLAIN XOAUTH2
      S: .
      C: AUTH XOAUTH2 ${base64('user=bob@example.com\x01auth=Bearer ya29.t\x01\x01')}
      S: +OK
      `,
    credentials: { kind: 'oauth2', username: 'bob@example.com', accessToken: 'ya29.t' },
    method: 'auto',
    mechanism: 'XOAUTH2',
  },
];

describe('auto picks the strongest mechanism the server offers', () => {
  it.each(AUTO.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const { conversation, credentials, method, mechanism } = row;
    const { client } = await loginTranscript(conversation, credentials, method);
    expect(client.mechanism).toBe(mechanism);
  });
});
