import type { GetSecretValueCommand, GetSecretValueCommandOutput } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import {
  ConfigCredentialsProvider,
  CredentialsError,
  type SecretSource,
} from '../../../lib/adapters/credentials.ts';
import { SecretsManagerSource } from '../../../lib/adapters/secrets-manager-source.ts';
import { Deadline } from '../../../lib/deadline.ts';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { startStalledServer } from '../../support/stalled-server.ts';

const SECRET = 'hunter2-do-not-print';

/** A secret store that counts lookups; `secrets` may be changed between calls (rotation). */
function countingSource(secrets: Record<string, string>) {
  const lookups: string[] = [];
  const source: SecretSource = {
    async getSecretString(secretId) {
      lookups.push(secretId);
      const value = secrets[secretId];
      if (value === undefined)
        throw Object.assign(new Error("can't find the specified secret"), {
          name: 'ResourceNotFoundException',
        });
      return value;
    },
  };
  return { source, lookups };
}

function manualClock() {
  let now = 0;
  const advance = (ms: number) => {
    now += ms;
  };
  return { clock: { monotonicMs: () => now }, advance };
}

async function errorOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection');
  return error;
}

describe('ConfigCredentialsProvider', () => {
  it('uses a literal password as is', async () => {
    const provider = new ConfigCredentialsProvider();
    expect(await provider.resolve({ literal: SECRET }, 'alice')).toEqual({
      kind: 'password',
      username: 'alice',
      password: SECRET,
    });
  });

  it('reads a password from the named environment variable', async () => {
    const provider = new ConfigCredentialsProvider({ env: { MAILBOX_PASSWORD: SECRET } });
    expect(await provider.resolve({ env: 'MAILBOX_PASSWORD' }, 'alice')).toMatchObject({ password: SECRET });
  });

  it('names a missing environment variable', async () => {
    const provider = new ConfigCredentialsProvider({ env: {} });
    const error = await errorOf(provider.resolve({ env: 'MAILBOX_PASSWORD' }, 'alice'));
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.message).toBe('environment variable MAILBOX_PASSWORD is not set or empty');
  });

  describe('with only Secrets Manager references allowed (the deployed poll function)', () => {
    it.each([
      ['an environment variable', { env: 'AWS_SECRET_ACCESS_KEY' }, 'a secret reference of kind "env"'],
      ['a literal', { literal: SECRET }, 'a secret reference of kind "literal"'],
    ])('refuses %s without reading or echoing it', async (_, ref, start) => {
      const { source, lookups } = countingSource({});
      const env = { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI-function-key' };
      const provider = new ConfigCredentialsProvider({ secretSource: source, env, allowed: ['secretId'] });
      const error = await errorOf(provider.resolve(ref, 'alice'));
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error.message).toBe(`${start} is not accepted here; use one of: secretId`);
      expect(error.message).not.toContain('AWS_SECRET_ACCESS_KEY');
      expect(error.message).not.toContain(SECRET);
      expect(lookups).toEqual([]);
    });

    it('still resolves a secretId reference', async () => {
      const { source } = countingSource({ 'mail/alice': SECRET });
      const provider = new ConfigCredentialsProvider({ secretSource: source, allowed: ['secretId'] });
      expect(await provider.resolve({ secretId: 'mail/alice' }, 'alice')).toMatchObject({ password: SECRET });
    });

    it('refuses an OAuth token from the environment the same way', async () => {
      const provider = new ConfigCredentialsProvider({ env: { TOKEN: 'ya29.token' }, allowed: ['secretId'] });
      const mailbox = { username: 'bob', credential: { env: 'TOKEN' }, credentialKind: 'oauth2' as const };
      await expect(provider.resolveFor(mailbox)).rejects.toThrow(CredentialsError);
    });
  });

  it('returns an OAuth2 access token when the mailbox declares one', async () => {
    const provider = new ConfigCredentialsProvider({ env: { TOKEN: 'ya29.token' } });
    const mailbox = { username: 'bob', credential: { env: 'TOKEN' }, credentialKind: 'oauth2' as const };
    expect(await provider.resolveFor(mailbox)).toEqual({
      kind: 'oauth2',
      username: 'bob',
      accessToken: 'ya29.token',
    });
  });

  describe('secrets from a secret source', () => {
    it('takes a plain-text secret whole', async () => {
      const { source } = countingSource({ 'mail/support': SECRET });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      expect(await provider.resolve({ secretId: 'mail/support' }, 'u')).toMatchObject({ password: SECRET });
    });

    it('takes "password" from a JSON secret, or "accessToken" for OAuth2', async () => {
      const { source } = countingSource({ s: JSON.stringify({ password: SECRET, accessToken: 'tok' }) });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      expect(await provider.resolve({ secretId: 's' }, 'u')).toMatchObject({ password: SECRET });
      expect(await provider.resolve({ secretId: 's' }, 'u', 'oauth2')).toMatchObject({ accessToken: 'tok' });
    });

    it('takes the field the reference names', async () => {
      const { source } = countingSource({ s: JSON.stringify({ support: SECRET, billing: 'other' }) });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      expect(await provider.resolve({ secretId: 's', field: 'billing' }, 'u')).toMatchObject({
        password: 'other',
      });
    });

    it('treats text that merely looks like JSON but is not an object as the password', async () => {
      const { source } = countingSource({ a: '{not json', b: '"quoted"' });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      expect(await provider.resolve({ secretId: 'a' }, 'u')).toMatchObject({ password: '{not json' });
      expect(await provider.resolve({ secretId: 'b' }, 'u')).toMatchObject({ password: '"quoted"' });
    });

    it('names the secret and field, never the value, when the field is missing', async () => {
      const { source } = countingSource({ s: JSON.stringify({ pasword: SECRET }) });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      const error = await errorOf(provider.resolve({ secretId: 's' }, 'u'));
      expect(error.message).toBe('secret "s" has no non-empty string field "password"');
      expect(error.message).not.toContain(SECRET);
    });

    it('refuses a field of a plain-text secret without echoing it', async () => {
      const { source } = countingSource({ s: SECRET });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      const error = await errorOf(provider.resolve({ secretId: 's', field: 'password' }, 'u'));
      expect(error.message).toBe('secret "s" is not a JSON object, so it has no field "password"');
    });

    it('names the secret when it cannot be read', async () => {
      const { source } = countingSource({});
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      const error = await errorOf(provider.resolve({ secretId: 'missing' }, 'u'));
      expect(error).toBeInstanceOf(CredentialsError);
      expect(error.message).toBe(
        `could not read secret "missing": ResourceNotFoundException: can't find the specified secret`,
      );
    });

    it('explains that a secret id needs a secret source', async () => {
      const error = await errorOf(new ConfigCredentialsProvider().resolve({ secretId: 's' }, 'u'));
      expect(error.message).toBe('secret "s" cannot be read: no secret source');
    });
  });

  describe('the secret cache', () => {
    it('reads each secret once while it is fresh, even for concurrent mailboxes', async () => {
      const { source, lookups } = countingSource({ s: JSON.stringify({ a: '1', b: '2' }) });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      await Promise.all([
        provider.resolve({ secretId: 's', field: 'a' }, 'u'),
        provider.resolve({ secretId: 's', field: 'b' }, 'u'),
      ]);
      await provider.resolve({ secretId: 's', field: 'a' }, 'u');
      expect(lookups).toEqual(['s']);
    });

    it('reads the secret again once the TTL has passed, picking up a rotation', async () => {
      const secrets = { s: 'old' };
      const { source, lookups } = countingSource(secrets);
      const { clock, advance } = manualClock();
      const provider = new ConfigCredentialsProvider({ secretSource: source, cacheTtlMs: 60_000, clock });

      await provider.resolve({ secretId: 's' }, 'u');
      secrets.s = 'new';
      advance(59_999);
      expect(await provider.resolve({ secretId: 's' }, 'u')).toMatchObject({ password: 'old' });
      advance(1);
      expect(await provider.resolve({ secretId: 's' }, 'u')).toMatchObject({ password: 'new' });
      expect(lookups).toEqual(['s', 's']);
    });

    it('keeps five minutes by default', async () => {
      const { source, lookups } = countingSource({ s: 'x' });
      const { clock, advance } = manualClock();
      const provider = new ConfigCredentialsProvider({ secretSource: source, clock });
      await provider.resolve({ secretId: 's' }, 'u');
      advance(5 * 60_000 - 1);
      await provider.resolve({ secretId: 's' }, 'u');
      advance(1);
      await provider.resolve({ secretId: 's' }, 'u');
      expect(lookups).toHaveLength(2);
    });

    it('does not cache a failed lookup', async () => {
      const secrets: Record<string, string> = {};
      const { source, lookups } = countingSource(secrets);
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      await expect(provider.resolve({ secretId: 's' }, 'u')).rejects.toThrow(CredentialsError);
      secrets.s = 'created meanwhile';
      expect(await provider.resolve({ secretId: 's' }, 'u')).toMatchObject({ password: 'created meanwhile' });
      expect(lookups).toEqual(['s', 's']);
    });

    it('forgets a secret on request, e.g. after the server refused it', async () => {
      const { source, lookups } = countingSource({ s: 'x' });
      const provider = new ConfigCredentialsProvider({ secretSource: source });
      await provider.resolve({ secretId: 's' }, 'u');
      provider.forget({ secretId: 's' });
      await provider.resolve({ secretId: 's' }, 'u');
      expect(lookups).toEqual(['s', 's']);
    });
  });
});

describe('SecretsManagerSource', () => {
  function fakeClient(reply: GetSecretValueCommandOutput) {
    const asked: (string | undefined)[] = [];
    const client = {
      async send(command: GetSecretValueCommand) {
        asked.push(command.input.SecretId);
        return reply;
      },
    };
    return { client, asked };
  }
  const metadata = { $metadata: {} };

  it('asks GetSecretValue for the id and returns the secret string', async () => {
    const { client, asked } = fakeClient({ ...metadata, SecretString: SECRET });
    const source = new SecretsManagerSource({ client });
    expect(await source.getSecretString('arn:aws:secretsmanager:eu-west-1:1:secret:mail')).toBe(SECRET);
    expect(asked).toEqual(['arn:aws:secretsmanager:eu-west-1:1:secret:mail']);
  });

  it('decodes a binary secret holding UTF-8 text', async () => {
    const { client } = fakeClient({ ...metadata, SecretBinary: new TextEncoder().encode('pässword') });
    expect(await new SecretsManagerSource({ client }).getSecretString('s')).toBe('pässword');
  });

  it('refuses a binary secret that is not text, without showing it', async () => {
    const { client } = fakeClient({ ...metadata, SecretBinary: Uint8Array.from([0xff, 0xfe, 0x41]) });
    const error = await errorOf(new SecretsManagerSource({ client }).getSecretString('s'));
    expect(error.message).toBe('secret "s" is binary and not UTF-8 text');
  });
});

describe('an OAuth2 token request and the run deadline', () => {
  it('is abandoned when the deadline passes, not after its own 15 s timeout', async () => {
    const stalled = await startStalledServer();
    try {
      const doc = {
        grant: 'client_credentials',
        clientId: 'app',
        clientSecret: 's',
        scope: 'pop',
        tokenUrl: stalled.url,
      };
      const source: SecretSource = { getSecretString: async () => JSON.stringify(doc) };
      const provider = new ConfigCredentialsProvider({ secretSource: source, allowed: ['secretId'] });
      const ref = { oauth2: { grant: 'client_credentials' as const, secret: { secretId: 'oauth/app' } } };
      const started = performance.now();
      const error = await errorOf(
        provider.resolve(ref, 'alice', 'oauth2', { signal: Deadline.after(300).signal() }),
      );
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(stalled.requests()).toBe(1);
      expect(classifyFailure(error)).toMatchObject({ status: 'retry-later', reason: 'token-endpoint' });
      expect(error.message).toContain("abandoned: the run's deadline passed");
    } finally {
      await stalled.close();
    }
  });
});
