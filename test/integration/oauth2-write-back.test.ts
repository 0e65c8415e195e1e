/**
 * The rotated refresh token is written back as a compare-and-swap, in both stores: Secrets Manager (the
 * real SDK client against the stand-in, which keeps version ids and ClientRequestTokens as the service
 * does) and a local secret file. Another writer that stored a document between our read and our write is
 * never overwritten: if it holds a newer refresh token, that one is used; if only other fields changed,
 * our token goes into its document.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { readSecretFileVersioned, writeSecretFileIfUnchanged } from '../../lib/adapters/secret-file.ts';
import {
  createSecretsManagerClient,
  SecretsManagerSource,
} from '../../lib/adapters/secrets-manager-source.ts';
import { OAuth2Tokens } from '../../lib/oauth/token-provider.ts';
import { requestToken } from '../../lib/oauth/token-request.ts';
import type { OAuth2SecretRef } from '../../lib/ports.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const CLIENT = 'desktop-app';
let tokens: TokenEndpoint;
let secrets: SecretsManagerEndpoint;
let workDir: string;
let source: SecretsManagerSource;

beforeAll(async () => {
  [tokens, secrets] = await Promise.all([
    startTokenEndpoint({ clients: [{ clientId: CLIENT }], reuseDetection: true }),
    startSecretsManagerEndpoint(),
  ]);
  workDir = await mkdtemp(path.join(tmpdir(), 'oauth2-write-back-'));
  source = new SecretsManagerSource({
    client: createSecretsManagerClient({
      endpoint: secrets.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    }),
  });
});
afterAll(async () => {
  await Promise.all([tokens?.close(), secrets?.close()]);
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function document(refreshToken: string, extra: object = {}): string {
  return JSON.stringify({
    grant: 'refresh_token',
    clientId: CLIENT,
    refreshToken,
    scope: 'pop',
    tokenUrl: tokens.tokenUrl,
    ...extra,
  });
}

interface Store {
  readonly ref: OAuth2SecretRef;
  put(text: string): Promise<void>;
  get(): Promise<string>;
}

const stores: Record<string, (name: string) => Store> = {
  'Secrets Manager': (name) => ({
    ref: { grant: 'refresh_token', secret: { secretId: name } },
    put: async (text) => secrets.putSecret(name, text),
    get: async () => secrets.valueOf(name),
  }),
  'secret file': (name) => {
    const file = path.join(workDir, `${name.replaceAll('/', '-')}.json`);
    return {
      ref: { grant: 'refresh_token', secret: { file } },
      put: (text) => writeFile(file, text),
      get: () => readFile(file, 'utf8'),
    };
  },
};

/** Token requests that let `meanwhile` run after the endpoint answered and before the write-back. */
function tokensWith(meanwhile: () => Promise<void>): OAuth2Tokens {
  const provider = new ConfigCredentialsProvider({ secretSource: source });
  let once = true;
  return new OAuth2Tokens({
    store: provider.oauth2Store(),
    requestToken: async (...args) => {
      const issued = await requestToken(...args);
      if (once) {
        once = false;
        await meanwhile();
      }
      return issued;
    },
  });
}

for (const [kind, storeNamed] of Object.entries(stores)) {
  describe(`write-back to a ${kind}`, () => {
    it('a newer refresh token stored meanwhile is kept, and used instead of ours', async () => {
      const store = storeNamed(`oauth/newer-${kind}`);
      await store.put(document(tokens.grantRefreshToken('u', CLIENT, 'pop')));
      // A person's `oauth login` (a fresh grant) lands while our token request is under way.
      const fresh = tokens.grantRefreshToken('u', CLIENT, 'pop');
      const before = tokens.issued.length;
      const token = await tokensWith(() => store.put(document(fresh))).token(store.ref, Date.now());
      expect(token.accessToken).toMatch(/^eyJ/);
      const stored = JSON.parse(await store.get()).refreshToken as string;
      // The fresh token was spent by the retry, and what it rotated to is stored and live.
      expect(tokens.isRefreshTokenValid(fresh)).toBe(false);
      expect(tokens.isRefreshTokenValid(stored)).toBe(true);
      expect(tokens.issued.length - before).toBe(2);
      expect(tokens.familiesRevoked).toBe(0);
    });

    it('only other fields changed meanwhile: our rotated token goes into that document', async () => {
      const store = storeNamed(`oauth/fields-${kind}`);
      const first = tokens.grantRefreshToken('u', CLIENT, 'pop');
      await store.put(document(first));
      const before = tokens.issued.length;
      await tokensWith(() => store.put(document(first, { tenant: 'contoso.example' }))).token(
        store.ref,
        Date.now(),
      );
      const stored = JSON.parse(await store.get()) as { refreshToken: string; tenant?: string };
      expect(stored.tenant).toBe('contoso.example');
      expect(stored.refreshToken).not.toBe(first);
      expect(tokens.isRefreshTokenValid(stored.refreshToken)).toBe(true);
      expect(tokens.issued.length - before).toBe(1);
    });
  });
}

describe('two writers that read the same version', () => {
  it('Secrets Manager: exactly one conditional write succeeds', async () => {
    secrets.putSecret('oauth/race', document('rt-start'));
    const { versionId } = await source.getSecretVersion('oauth/race');
    const results = await Promise.all(
      ['rt-a', 'rt-b', 'rt-c'].map((t) =>
        source.putSecretStringIfCurrent('oauth/race', document(t), versionId!),
      ),
    );
    expect(results.filter((r) => r === 'written')).toHaveLength(1);
    const winner = ['rt-a', 'rt-b', 'rt-c'][results.indexOf('written')]!;
    expect(JSON.parse(secrets.valueOf('oauth/race')).refreshToken).toBe(winner);
    // The version read is no longer current: writing from it again is a conflict, whatever the content.
    expect(await source.putSecretStringIfCurrent('oauth/race', document(winner), versionId!)).toBe(
      'conflict',
    );
  });

  it('Secrets Manager: a version made current again can be rotated from again', async () => {
    secrets.putSecret('oauth/restored', document('rt-start'));
    const { versionId } = await source.getSecretVersion('oauth/restored');
    expect(await source.putSecretStringIfCurrent('oauth/restored', document('rt-a'), versionId!)).toBe(
      'written',
    );
    secrets.restoreVersion('oauth/restored', versionId!);
    expect(await source.putSecretStringIfCurrent('oauth/restored', document('rt-b'), versionId!)).toBe(
      'written',
    );
    expect(JSON.parse(secrets.valueOf('oauth/restored')).refreshToken).toBe('rt-b');
  });

  it('secret file: exactly one conditional write succeeds', async () => {
    const file = path.join(workDir, 'race.json');
    await writeFile(file, document('rt-start'));
    const read = await readSecretFileVersioned(file);
    const results = await Promise.all(
      ['rt-a', 'rt-b', 'rt-c'].map((t) => writeSecretFileIfUnchanged(file, document(t), read)),
    );
    expect(results.filter((r) => r === 'written')).toHaveLength(1);
    const winner = ['rt-a', 'rt-b', 'rt-c'][results.indexOf('written')]!;
    expect(JSON.parse(await readFile(file, 'utf8')).refreshToken).toBe(winner);
  });
});
