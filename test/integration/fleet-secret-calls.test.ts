/**
 * GetSecretValue calls for a fleet (docs/deploy.md, "Secrets for many mailboxes"): the credentials provider
 * the poll function builds (coalesced reads over the real Secrets Manager client) against the Secrets
 * Manager stand-in, with tokens from the test token endpoint. 50 mailboxes, polled at once as a warm
 * container polls a batch, cost one call per distinct secret, and one more per secret per cache TTL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceReads } from '../../lib/adapters/coalescing-secret-source.ts';
import { ConfigCredentialsProvider, DEFAULT_SECRET_CACHE_TTL_MS } from '../../lib/adapters/credentials.ts';
import {
  createSecretsManagerClient,
  SecretsManagerSource,
} from '../../lib/adapters/secrets-manager-source.ts';
import { buildFleetSecret } from '../../lib/config/fleet-secret.ts';
import type { SecretRef } from '../../lib/ports.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const APP = { clientId: 'fleet-app', clientSecret: 'fleet-app-secret' };
const PASSWORDS = 'pop3-fleet-1';
const APP_SECRET = 'oauth/fleet-app';

let secrets: SecretsManagerEndpoint;
let tokens: TokenEndpoint;

beforeAll(async () => {
  [secrets, tokens] = await Promise.all([
    startSecretsManagerEndpoint(),
    startTokenEndpoint({ clients: [APP] }),
  ]);
});
afterAll(async () => {
  await Promise.all([secrets?.close(), tokens?.close()]);
});

/** What functions/poll.ts builds, pointed at the stand-in, with a clock the test moves. */
function pollFunctionProvider(now: () => number) {
  const client = createSecretsManagerClient({
    endpoint: secrets.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
  });
  return new ConfigCredentialsProvider({
    secretSource: coalesceReads(new SecretsManagerSource({ client })),
    allowed: ['secretId'],
    clock: { monotonicMs: now },
    tokenValidUntil: () => Date.now() + 60_000,
  });
}

describe('a fleet of 50 mailboxes in one warm container', () => {
  const passwordIds = Array.from({ length: 25 }, (_, i) => `pw-${i}`);
  const appIds = Array.from({ length: 25 }, (_, i) => `app-${i}`);
  const refs: [string, SecretRef, 'password' | 'oauth2'][] = [
    ...passwordIds.map((id): [string, SecretRef, 'password'] => [
      id,
      { secretId: PASSWORDS, field: id },
      'password',
    ]),
    ...appIds.map((id): [string, SecretRef, 'oauth2'] => [
      id,
      { oauth2: { grant: 'client_credentials', secret: { secretId: APP_SECRET } } },
      'oauth2',
    ]),
  ];

  it('one GetSecretValue per distinct secret per TTL, concurrent reads shared', async () => {
    secrets.putSecret(
      PASSWORDS,
      buildFleetSecret(passwordIds.map((mailboxId) => ({ mailboxId, password: `secret of ${mailboxId}` }))),
    );
    secrets.putSecret(
      APP_SECRET,
      JSON.stringify({ grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: tokens.tokenUrl }),
    );
    let now = 0;
    const provider = pollFunctionProvider(() => now);
    const resolveAll = () =>
      Promise.all(refs.map(([id, ref, kind]) => provider.resolve(ref, `${id}@example.com`, kind)));
    const calls = () => secrets.requestedIds.filter((id) => id === PASSWORDS || id === APP_SECRET);

    const first = await resolveAll();
    expect(first.slice(0, 25).map((c) => (c.kind === 'password' ? c.password : ''))).toEqual(
      passwordIds.map((id) => `secret of ${id}`),
    );
    expect(first.slice(25).every((c) => c.kind === 'oauth2' && c.accessToken.length > 0)).toBe(true);
    expect(calls().sort()).toEqual([APP_SECRET, PASSWORDS]);
    expect(tokens.issued.filter((r) => r.clientId === APP.clientId)).toHaveLength(1);

    // Warm: the next batch reads nothing.
    now += DEFAULT_SECRET_CACHE_TTL_MS - 1;
    await resolveAll();
    expect(calls()).toHaveLength(2);

    // Past the TTL: the fleet secret once more (a changed password is seen), whatever the batch size.
    now += 2;
    await resolveAll();
    expect(calls().filter((id) => id === PASSWORDS)).toHaveLength(2);
  });
});
