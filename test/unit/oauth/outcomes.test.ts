/**
 * A revoked OAuth2 grant (reason auth-revoked) is dropped like a refused password, counted in its own
 * AuthRevoked metric; the construct alarms on it; PutSecretValue goes only to refresh-token secrets.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load-config.ts';
import {
  referencedSecretIds,
  rotatedSecretIds,
  validateDeployedConfig,
} from '../../../lib/lambda/deployed-mailboxes.ts';
import { decideDisposition } from '../../../lib/lambda/disposition.ts';
import { outcomeMetrics } from '../../../lib/lambda/metrics.ts';
import type { MailboxOutcome } from '../../../lib/pipeline/outcome.ts';

const policy = { maxReceiveCount: 5 };
const revoked: MailboxOutcome = {
  mailboxId: 'gmail',
  status: 'auth-failed',
  reason: 'auth-revoked',
  message: 'token endpoint refused the grant: invalid_grant',
  counts: {
    found: 0,
    retrieved: 0,
    bytesRetrieved: 0,
    stored: 0,
    notified: 0,
    deleted: 0,
    skipped: 0,
    left: 0,
    uncommitted: 0,
  },
  skipped: [],
  quitConfirmed: false,
  durationMs: 12,
} as unknown as MailboxOutcome;

describe('auth-revoked', () => {
  it('is dropped at once, on every receive, and says why', () => {
    for (const receiveCount of [1, 2, 5]) {
      expect(decideDisposition(revoked, receiveCount, policy)).toEqual({
        action: 'delete',
        consumedBecause: 'auth-revoked',
      });
    }
    expect(decideDisposition({ status: 'auth-failed', reason: 'auth' }, 1, policy)).toEqual({
      action: 'delete',
      consumedBecause: 'auth-failed',
    });
  });

  it('counts in AuthRevoked (and AuthFailures), not in PollFailures', () => {
    const sets = outcomeMetrics(revoked, { service: 'svc' });
    expect(sets).toHaveLength(1);
    const values = Object.fromEntries(sets[0]?.metrics.map(({ name, value }) => [name, value]) ?? []);
    expect(values).toMatchObject({ AuthRevoked: 1, AuthFailures: 1 });
  });
});

describe('OAuth2 mailboxes in a deployed config', () => {
  const mailbox = (id: string, grant: string, secret: object) => ({
    id,
    host: 'outlook.office365.com',
    tls: 'implicit',
    username: `${id}@contoso.com`,
    oauth2: { grant, provider: 'microsoft', tenant: 'contoso.com', secret },
  });

  it('reads every secret; writes back only the refresh-token ones', () => {
    const config = validateDeployedConfig({
      mailboxes: [
        mailbox('app', 'client_credentials', { secretId: 'mail/app' }),
        mailbox('user', 'refresh_token', { secretId: 'mail/user' }),
      ],
    });
    expect(referencedSecretIds(config)).toEqual(['mail/app', 'mail/user']);
    expect(rotatedSecretIds(config)).toEqual(['mail/user']);
  });

  it('refuses a local secret file in a deployed config; the CLI takes it', () => {
    const document = { mailboxes: [mailbox('user', 'refresh_token', { file: 'secret.json' })] };
    expect(() => validateDeployedConfig(document)).toThrow(/oauth2\.secret: is a local file/);
    expect(parseConfig(document).mailboxes[0]?.credential).toEqual({
      oauth2: {
        grant: 'refresh_token',
        provider: 'microsoft',
        tenant: 'contoso.com',
        secret: { file: 'secret.json' },
      },
    });
  });
});

describe('a local OAuth2 secret file', () => {
  it('is found relative to the config file that names it', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { loadConfigFile } = await import('../../../lib/config/load-config.ts');
    const folder = await mkdtemp(path.join(tmpdir(), 'oauth-config-'));
    const file = path.join(folder, 'mailboxes.json');
    await writeFile(
      file,
      JSON.stringify({
        mailboxes: [
          {
            id: 'g',
            host: 'pop.gmail.com',
            tls: 'implicit',
            username: 'u',
            oauth2: { grant: 'refresh_token', provider: 'google', secret: { file: 'g.json' } },
          },
        ],
      }),
    );
    const [mailbox] = (await loadConfigFile(file)).mailboxes;
    expect(mailbox?.credential).toMatchObject({ oauth2: { secret: { file: path.join(folder, 'g.json') } } });
    await rm(folder, { recursive: true });
  });
});
