/**
 * The token cache and its failures against the test token endpoint (real HTTP through oauth4webapi):
 * one client-credentials token per app, renewal before a run's deadline, rotation written back before the
 * token is used, and each failure classified for who must act.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuth2Tokens } from '../../../lib/oauth/token-provider.ts';
import type { OAuth2SecretStore } from '../../../lib/oauth/write-back.ts';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import type { OAuth2SecretRef } from '../../../lib/ports.ts';
import { testCertificates } from '../../support/certs.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../../support/token-endpoint.ts';

const APP = { clientId: 'app', clientSecret: 'secret' };
const certificates = testCertificates();
let endpoint: TokenEndpoint;

beforeAll(async () => {
  endpoint = await startTokenEndpoint({
    clients: [APP, { clientId: 'public' }, { clientId: 'cert-app', certificatePem: certificates.certPem }],
  });
});
afterAll(() => endpoint.close());

function memoryStore(documents: Record<string, object>, failWrites = false) {
  const texts = new Map(Object.entries(documents).map(([id, doc]) => [id, JSON.stringify(doc)]));
  const writes: string[] = [];
  const store: OAuth2SecretStore = {
    read: async (location) => {
      const text = texts.get('secretId' in location ? location.secretId : location.file) ?? '';
      return { text, version: text };
    },
    write: async (location, text, expected) => {
      if (failWrites) throw new Error('AccessDeniedException');
      const id = 'secretId' in location ? location.secretId : location.file;
      if (texts.get(id) !== expected.text) return 'conflict';
      writes.push(id);
      texts.set(id, text);
      return 'written';
    },
  };
  return { store, writes, text: (id: string) => texts.get(id) ?? '' };
}

const ref = (secretId: string, grant: OAuth2SecretRef['grant']): OAuth2SecretRef => ({
  grant,
  secret: { secretId },
});

describe('OAuth2Tokens', () => {
  it('serves every mailbox of the same app and scope with one client-credentials token', async () => {
    const doc = { grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: endpoint.tokenUrl };
    const { store } = memoryStore({ a: doc, b: doc });
    const tokens = new OAuth2Tokens({ store });
    const before = endpoint.issued.length;
    const [a, b] = await Promise.all([
      tokens.token(ref('a', 'client_credentials'), Date.now()),
      tokens.token(ref('b', 'client_credentials'), Date.now()),
    ]);
    expect(a.accessToken).toBe(b.accessToken);
    expect((await tokens.token(ref('a', 'client_credentials'), Date.now())).accessToken).toBe(a.accessToken);
    expect(endpoint.issued.length - before).toBe(1);
    expect(a.description).toContain('roles=pop');
  });

  it('client credentials with a certificate: a signed assertion naming the certificate by thumbprint', async () => {
    const doc = {
      grant: 'client_credentials',
      clientId: 'cert-app',
      certificate: certificates.certPem,
      privateKey: certificates.keyPem,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    };
    const { store } = memoryStore({ cert: doc, wrong: { ...doc, certificate: certificates.caPem } });
    const token = await new OAuth2Tokens({ store }).token(ref('cert', 'client_credentials'), Date.now());
    expect(token.description).toContain('roles=pop');
    // The endpoint checks the signature against the registered certificate: another one is refused.
    const error = await new OAuth2Tokens({ store })
      .token(ref('wrong', 'client_credentials'), Date.now())
      .catch((e: unknown) => e);
    expect(classifyFailure(error)).toMatchObject({ reason: 'auth-revoked' });
    expect((error as Error).message).toContain('invalid_client');
  });

  it('renews a cached token that would expire before the run deadline', async () => {
    const { store } = memoryStore({
      c: { grant: 'client_credentials', ...APP, scope: 'pop2', tokenUrl: endpoint.tokenUrl },
    });
    const tokens = new OAuth2Tokens({ store });
    const first = await tokens.token(ref('c', 'client_credentials'), Date.now());
    const later = await tokens.token(ref('c', 'client_credentials'), first.expiresAtMs + 1000);
    expect(later.accessToken).not.toBe(first.accessToken);
  });

  it('does not hand out the access token when the rotated refresh token cannot be stored', async () => {
    const refreshToken = endpoint.grantRefreshToken('u', 'public', 'pop');
    const { store } = memoryStore(
      {
        d: {
          grant: 'refresh_token',
          clientId: 'public',
          refreshToken,
          scope: 'pop',
          tokenUrl: endpoint.tokenUrl,
        },
      },
      true,
    );
    const error = await new OAuth2Tokens({ store })
      .token(ref('d', 'refresh_token'), Date.now())
      .catch((e: unknown) => e);
    expect(classifyFailure(error)).toMatchObject({ status: 'failed', reason: 'credentials' });
    expect((error as Error).message).toContain('PutSecretValue');
  });

  it('token endpoint 503: retry-later (token-endpoint); a wrong client secret: auth-revoked', async () => {
    const { store } = memoryStore({
      e: { grant: 'client_credentials', ...APP, scope: 'pop3', tokenUrl: endpoint.tokenUrl },
      f: {
        grant: 'client_credentials',
        clientId: 'app',
        clientSecret: 'old',
        scope: 'pop4',
        tokenUrl: endpoint.tokenUrl,
      },
    });
    const tokens = new OAuth2Tokens({ store });
    endpoint.failNext(1);
    const busy = await tokens.token(ref('e', 'client_credentials'), Date.now()).catch((e: unknown) => e);
    expect(classifyFailure(busy)).toMatchObject({ status: 'retry-later', reason: 'token-endpoint' });
    expect((busy as Error).message).toContain('HTTP 503');
    const wrong = await tokens.token(ref('f', 'client_credentials'), Date.now()).catch((e: unknown) => e);
    expect(classifyFailure(wrong)).toMatchObject({ status: 'auth-failed', reason: 'auth-revoked' });
    expect((wrong as Error).message).toContain('invalid_client');
    expect((wrong as Error).message).not.toContain('old');
  });

  it('an unreachable token endpoint is retry-later', async () => {
    const { store } = memoryStore({
      g: { grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: 'http://127.0.0.1:1/token' },
    });
    const error = await new OAuth2Tokens({ store })
      .token(ref('g', 'client_credentials'), Date.now())
      .catch((e: unknown) => e);
    expect(classifyFailure(error)).toMatchObject({ status: 'retry-later', reason: 'token-endpoint' });
  });

  it('provider presets: Microsoft tenant endpoint, app-only scope and two-step XOAUTH2', async () => {
    const { parseCredential } = await import('../../../lib/oauth/settings.ts');
    const credential = parseCredential(
      JSON.stringify({
        grant: 'client_credentials',
        provider: 'microsoft',
        tenant: 'contoso.onmicrosoft.com',
        clientId: 'x',
        clientSecret: 'y',
      }),
      { grant: 'client_credentials' },
      'secret "m"',
    );
    expect(credential.tokenUrl).toBe(
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    );
    expect(credential.scope).toBe('https://outlook.office365.com/.default');
    const google = parseCredential(
      JSON.stringify({ grant: 'refresh_token', provider: 'google', clientId: 'x', refreshToken: 'r' }),
      { grant: 'refresh_token' },
      'secret "g"',
    );
    expect(google).toMatchObject({
      tokenUrl: 'https://oauth2.googleapis.com/token',
      scope: 'https://mail.google.com/',
    });
  });
});

describe('credential documents', () => {
  it('name the secret and the field, never a value', async () => {
    const { parseCredential } = await import('../../../lib/oauth/settings.ts');
    const parse =
      (document: object, grant: 'client_credentials' | 'refresh_token' = 'refresh_token') =>
      () =>
        parseCredential(JSON.stringify(document), { grant }, 'secret "s"');
    expect(parse({ clientId: 'x', refresh_token: 'leaked-value', provider: 'google' })).toThrow(
      'secret "s" has an unknown field "refresh_token"',
    );
    expect(parse({ clientId: 'x', provider: 'google' })).toThrow(/no "refreshToken".*oauth login/);
    expect(parse({ clientId: 'x', provider: 'microsoft' }, 'client_credentials')).toThrow(
      /no "clientSecret"/,
    );
    expect(
      parse({ grant: 'client_credentials', clientId: 'x', clientSecret: 'y', provider: 'google' }),
    ).toThrow(/holds a client_credentials credential, but the mailbox says refresh_token/);
    expect(parse({ clientId: 'x', refreshToken: 'secret-value' })).toThrow(
      /needs a "provider".*or a "tokenUrl"/,
    );
    expect(parse({ clientId: 'x', refreshToken: 'secret-value' })).not.toThrow(/secret-value/);
    expect(parse({ clientId: 'x', refreshToken: 'r', tokenUrl: 'http://idp.example.com/token' })).toThrow(
      /tokenUrl must be an https:\/\/ URL/,
    );
  });
});
