/**
 * Token logins byte for byte: XOAUTH2 in the form the provider needs (two-step for Microsoft 365, one-step
 * for Gmail even past 255 octets), one fallback to the other form when the server refused the form without
 * looking at the token, none when it refused the token; OAUTHBEARER (RFC 7628) where XOAUTH2 is not offered.
 * The form comes from the provider profile (lib/config/providers.ts) through Pop3ClientOptions.xoauth2Form;
 * the other form is an attempt of its own in the LoginPlan (lib/pop3/login-plan.ts), inside its cap.
 */
import { describe, expect, it } from 'vitest';
import { PROVIDER_PROFILES } from '../../../lib/config/providers.ts';
import type { AuthMethod } from '../../../lib/config/types.ts';
import type { XOAuth2Form } from '../../../lib/pop3/credentials.ts';
import { Pop3AuthenticationError, Pop3LoginRefusedError } from '../../../lib/pop3/errors.ts';
import { MAX_COMMAND_OCTETS } from '../../../lib/pop3/limits.ts';
import { LOGIN_MECHANISMS, type LoginOffer } from '../../../lib/pop3/login-mechanisms.ts';
import { LoginPlan } from '../../../lib/pop3/login-plan.ts';
import { NO_CAPABILITIES } from '../../../lib/pop3/parsers.ts';
import type { Credentials } from '../../../lib/ports.ts';
import { base64, connectTo, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();
const AFTER_LOGIN = `
  C: CAPA
  S: +OK
  S: .
  C: QUIT
  S: +OK
`;
const CAPA_XOAUTH2 = `
  S: +OK ready
  C: CAPA
  S: +OK
  S: SASL XOAUTH2 OAUTHBEARER
  S: .
`;
const ERROR_CHALLENGE = base64('{"status":"401","schemes":"bearer","scope":"mail"}');

function oauth(
  accessToken: string,
  extra: Partial<Extract<Credentials, { kind: 'oauth2' }>> = {},
): Credentials {
  return { kind: 'oauth2', username: 'alice@example.com', accessToken, ...extra };
}
const xoauth2 = (token: string) => base64(`user=alice@example.com\x01auth=Bearer ${token}\x01\x01`);

/** `xoauth2Form`: the provider profile's form, as the pipeline passes it to the client. */
async function loginTranscript(
  conversation: string,
  credentials: Credentials,
  xoauth2Form?: XOAuth2Form,
  method: AuthMethod = 'auto',
) {
  const script = transcript(conversation + AFTER_LOGIN);
  const server = await startServer(script.steps);
  const client = await connectTo(server, { xoauth2Form });
  await client.login(credentials, method);
  await client.quit();
  await server.done;
  expect(server.received.toString('latin1')).toBe(script.clientBytes);
}

/** Plays a conversation that ends in a refused login; returns the error and checks the client's bytes. */
async function refusedTranscript(
  conversation: string,
  credentials: Credentials,
  xoauth2Form?: XOAuth2Form,
): Promise<Pop3AuthenticationError> {
  const script = transcript(conversation);
  const server = await startServer(script.steps);
  const client = await connectTo(server, { xoauth2Form });
  const error = await client.login(credentials, 'auto').then(
    () => undefined,
    (e: unknown) => e,
  );
  client.abort(new Error('test over'));
  await server.done.catch(() => undefined);
  expect(server.received.toString('latin1')).toBe(script.clientBytes);
  expect(error).toBeInstanceOf(Pop3AuthenticationError);
  return error as Pop3AuthenticationError;
}

interface TokenLoginCase {
  readonly name: string;
  /** What the server says (`S:`) and what the client must send (`C:`), up to the login's end. */
  readonly conversation: string;
  readonly credentials: Credentials;
  /** The provider profile's XOAUTH2 form; undefined: the client's default. */
  readonly form: XOAuth2Form | undefined;
  readonly method: AuthMethod;
}

/** Token logins that get in, in the form the provider needs or after the one fallback to the other. */
const XOAUTH2_LOGINS: readonly TokenLoginCase[] = [
  {
    name: 'Microsoft 365: two-step even for a token that would fit the AUTH line',
    conversation: `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2
      S: + 
      C: ${xoauth2('eyJ.short.sig')}
      S: +OK
      `,
    credentials: oauth('eyJ.short.sig'),
    form: PROVIDER_PROFILES.microsoft365.xoauth2Form,
    method: 'auto',
  },
  {
    name: 'falls back once to one-step when the server refuses the two-step form before seeing the token',
    conversation: `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2
      S: -ERR initial response required
      C: AUTH XOAUTH2 ${xoauth2('tok')}
      S: +OK
      `,
    credentials: oauth('tok'),
    form: 'two-step',
    method: 'auto',
  },
  {
    name: 'falls back once to two-step when the one-step line is refused without an error challenge',
    conversation: `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2 ${xoauth2('tok')}
      S: -ERR line too long
      C: AUTH XOAUTH2
      S: + 
      C: ${xoauth2('tok')}
      S: +OK
      `,
    credentials: oauth('tok'),
    form: 'one-step',
    method: 'auto',
  },
  {
    name: 'auth "xoauth2" also gets the one fallback to the other form',
    conversation: `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2 ${xoauth2('tok')}
      S: -ERR line too long
      C: AUTH XOAUTH2
      S: + 
      C: ${xoauth2('tok')}
      S: +OK
      `,
    credentials: oauth('tok'),
    form: 'one-step',
    method: 'xoauth2',
  },
];

/** OAUTHBEARER logins that get in: asked for by name, or the token mechanism offered. */
const OAUTHBEARER_LOGINS: readonly TokenLoginCase[] = [
  {
    name: 'auth "oauthbearer" sends it even where XOAUTH2 is offered',
    conversation: `${CAPA_XOAUTH2}
      C: AUTH OAUTHBEARER ${base64('n,a=alice@example.com,\x01auth=Bearer tok\x01\x01')}
      S: +OK
      `,
    credentials: oauth('tok'),
    form: undefined,
    method: 'oauthbearer',
  },
  {
    name: 'is chosen when the server offers it and not XOAUTH2; GS2 header escapes , and =',
    conversation: `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL OAUTHBEARER PLAIN
      S: .
      C: AUTH OAUTHBEARER ${base64('n,a=a=2Cb=3Dc@example.com,\x01auth=Bearer tok\x01\x01')}
      S: +OK
      `,
    credentials: { kind: 'oauth2', username: 'a,b=c@example.com', accessToken: 'tok' },
    form: undefined,
    method: 'auto',
  },
];

describe('XOAUTH2 forms', () => {
  // Rows as [name, row] so that vitest prints each name whole and unquoted ('%s').
  it.each(XOAUTH2_LOGINS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await loginTranscript(row.conversation, row.credentials, row.form, row.method);
  });

  it('Gmail: one-step, even past the 255-octet line (Gmail takes it)', async () => {
    const token = `ya29.${'a'.repeat(300)}`;
    expect(`AUTH XOAUTH2 ${xoauth2(token)}\r\n`.length).toBeGreaterThan(MAX_COMMAND_OCTETS);
    await loginTranscript(
      `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2 ${xoauth2(token)}
      S: +OK
      `,
      oauth(token),
      PROVIDER_PROFILES.gmail.xoauth2Form,
    );
  });

  it('does not try the other form for a token the server looked at and refused; says what the token holds', async () => {
    const error = await refusedTranscript(
      `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2
      S: + 
      C: ${xoauth2('tok')}
      S: + ${ERROR_CHALLENGE}
      C: 
      S: -ERR [AUTH] Authentication failed.
      `,
      oauth('tok', { tokenDescription: 'token claims: aud=https://outlook.office365.com roles=' }),
      'two-step',
    );
    expect(error.message).toContain('Authentication failed.');
    expect(error.message).toContain('aud=https://outlook.office365.com');
    expect(error.message).not.toContain('tok\x01');
  });

  it('does not try the other form when the server is busy ([IN-USE])', async () => {
    const error = await refusedTranscript(
      `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2
      S: -ERR [IN-USE] mailbox locked
      `,
      oauth('tok'),
      'two-step',
    );
    expect(error.hasCode('IN-USE')).toBe(true);
  });

  it('falls back only once: two refusals of the form end the login', async () => {
    const error = await refusedTranscript(
      `${CAPA_XOAUTH2}
      C: AUTH XOAUTH2
      S: -ERR no
      C: AUTH XOAUTH2 ${xoauth2('tok')}
      S: -ERR still no
      `,
      oauth('tok'),
      'two-step',
    );
    expect(error).toBeInstanceOf(Pop3LoginRefusedError);
    expect((error as Pop3LoginRefusedError).attempts.map((attempt) => attempt.mechanism)).toEqual([
      'XOAUTH2',
      'XOAUTH2',
    ]);
  });

  it('the other form counts against the login plan cap', () => {
    const offer: LoginOffer = {
      server: 'pop.example.com',
      greeting: { text: 'ready' },
      capabilities: { ...NO_CAPABILITIES, sasl: ['XOAUTH2'] },
      encrypted: true,
      allowInsecureAuth: false,
      xoauth2Form: 'two-step',
    };
    const refusal = new Pop3AuthenticationError('initial response required');
    const capped = new LoginPlan(oauth('tok'), 'auto', { maxAttempts: 1, mechanisms: LOGIN_MECHANISMS });
    const first = capped.next(offer).exchange(oauth('tok'), offer);
    expect(capped.refused(refusal, first)).toBeUndefined();
    expect(() => capped.next(offer)).toThrow(Pop3LoginRefusedError);

    const plan = new LoginPlan(oauth('tok'), 'auto');
    const twoStep = plan.next(offer).exchange(oauth('tok'), offer);
    expect(twoStep.start().line.toString('latin1')).toBe('AUTH XOAUTH2\r\n');
    const oneStep = plan.refused(refusal, twoStep);
    expect(oneStep?.start().line.toString('latin1')).toBe(`AUTH XOAUTH2 ${xoauth2('tok')}\r\n`);
    expect(plan.attempts).toHaveLength(1);
  });
});

describe('OAUTHBEARER (RFC 7628)', () => {
  it.each(OAUTHBEARER_LOGINS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await loginTranscript(row.conversation, row.credentials, row.form, row.method);
  });

  it('answers the error challenge with a lone ^A, then reports the -ERR', async () => {
    await refusedTranscript(
      `
      S: +OK ready
      C: CAPA
      S: +OK
      S: SASL OAUTHBEARER
      S: .
      C: AUTH OAUTHBEARER ${base64('n,a=alice@example.com,\x01auth=Bearer tok\x01\x01')}
      S: + ${ERROR_CHALLENGE}
      C: ${base64('\x01')}
      S: -ERR [AUTH] Authentication failed.
      `,
      oauth('tok'),
    );
  });
});
