/**
 * The CLI as shipped (the bundle scripts/build.mjs builds, in its own `node` process) with an OAuth2
 * mailbox: `check` passes against the XOAUTH2 Dovecot, and `poll` drains it with a refresh-token secret file
 * whose rotated token it writes back. `check` takes the mailbox's lock as `poll` does, so the two never
 * spend one refresh token at once (the endpoint here revokes a family whose retired token is reused).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockMailbox } from '../../lib/cli/mailbox-lock.ts';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const USER = 'oauthuser';
const DESKTOP = { clientId: 'desktop-app' };

let buildDir: string;
let runner: string;
let dovecot: DovecotServer;
let endpoint: TokenEndpoint;

beforeAll(async () => {
  endpoint = await startTokenEndpoint({ clients: [DESKTOP], reuseDetection: true });
  let built: BuiltCli;
  [dovecot, built] = await Promise.all([
    startDovecot({
      users: [{ name: USER, password: 'unused' }],
      oauth2IntrospectionUrl: `${endpoint.url}/introspect`,
    }),
    buildCliBundle('oauth2-cli-bundle-'),
  ]);
  ({ dir: buildDir, runner } = built);
}, 180_000);

afterAll(async () => {
  await dovecot?.stop();
  await endpoint?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { status, stdout, stderr } = await runBuiltCli(runner, args, {
    env: { PATH: process.env['PATH'], ...env },
  });
  return { code: status, stdout, stderr };
}

/** A refresh-token secret file and a config naming it; `name` keeps tests apart. */
async function refreshTokenMailbox(name: string, refreshToken: string) {
  const secret = path.join(buildDir, `${name}-secret.json`);
  await writeFile(
    secret,
    JSON.stringify({
      grant: 'refresh_token',
      clientId: DESKTOP.clientId,
      refreshToken,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    }),
  );
  const mailbox = {
    id: name,
    host: dovecot.host,
    port: dovecot.pop3sPort,
    tls: 'implicit',
    ca: dovecot.caPem,
    username: USER,
    oauth2: { grant: 'refresh_token', secret: { file: secret } },
  };
  const config = path.join(buildDir, `${name}-mailboxes.json`);
  await writeFile(config, JSON.stringify({ mailboxes: [mailbox] }));
  const stored = async () =>
    (JSON.parse(await readFile(secret, 'utf8')) as { refreshToken: string }).refreshToken;
  return { config, mailbox, stored };
}

describe('the built CLI with an OAuth2 mailbox', () => {
  it('checks, then drains with a refresh-token secret file and writes the rotated token back', async () => {
    const first = endpoint.grantRefreshToken(USER, DESKTOP.clientId, 'pop');
    const secret = path.join(buildDir, 'secret.json');
    await writeFile(
      secret,
      JSON.stringify({
        grant: 'refresh_token',
        clientId: DESKTOP.clientId,
        refreshToken: first,
        scope: 'pop',
        tokenUrl: endpoint.tokenUrl,
      }),
    );
    const config = path.join(buildDir, 'mailboxes.json');
    await writeFile(
      config,
      JSON.stringify({
        mailboxes: [
          {
            id: 'oauth',
            host: dovecot.host,
            port: dovecot.pop3sPort,
            tls: 'implicit',
            ca: dovecot.caPem,
            username: USER,
            oauth2: { grant: 'refresh_token', secret: { file: secret } },
          },
        ],
      }),
    );
    await dovecot.seed(USER, [Buffer.from('Subject: built\r\n\r\nbody\r\n')]);

    const check = await runCli(['check', '--config', config]);
    expect(check.stdout).toMatch(/ok {6}login: as oauthuser with XOAUTH2/);
    expect(check.stdout).toMatch(/ok {6}STAT: 1 messages/);
    expect(check.code).toBe(0);
    const afterCheck = JSON.parse(await readFile(secret, 'utf8')) as { refreshToken: string };
    expect(afterCheck.refreshToken).not.toBe(first);

    const poll = await runCli(['poll', '--config', config, '--out', path.join(buildDir, 'out')]);
    expect(poll.stderr).toBe('');
    expect(poll.code).toBe(0);
    expect(await dovecot.messageCount(USER)).toBe(0);
    expect(JSON.parse(await readFile(secret, 'utf8')).refreshToken).not.toBe(afterCheck.refreshToken);
  });

  it('check takes the mailbox lock: a held lock leaves the refresh token unspent; check and poll together revoke nothing', async () => {
    const first = endpoint.grantRefreshToken(USER, DESKTOP.clientId, 'pop');
    const { config, mailbox, stored } = await refreshTokenMailbox('locked', first);
    const lockDir = path.join(buildDir, 'locks');
    const env = { MAILBOX_POLLER_LOCK_DIR: lockDir };
    await dovecot.seed(USER, [Buffer.from('Subject: locked\r\n\r\nbody\r\n')]);

    const held = await lockMailbox(lockDir, mailbox, 0);
    if (!held.acquired) throw new Error('the test could not take the lock');
    const requests = endpoint.tokenRequests;
    const locked = await runCli(['check', '--config', config], env);
    await held.release();
    expect(locked.stdout).toMatch(/FAILED {2}lock: another run \(pid \d+, since .*\) is polling oauthuser/);
    expect(locked.stdout).toContain('--wait-lock SECONDS');
    expect(locked.code).toBe(1);
    expect(endpoint.tokenRequests).toBe(requests);
    expect(await stored()).toBe(first);
    expect(endpoint.isRefreshTokenValid(first)).toBe(true);

    // Started together, each waits for the other's lock: the refresh token is renewed by one, then the
    // other, never presented twice.
    const out = path.join(buildDir, 'locked-out');
    const [check, poll] = await Promise.all([
      runCli(['check', '--config', config, '--wait-lock', '60'], env),
      runCli(['poll', '--config', config, '--out', out, '--wait-lock', '60'], env),
    ]);
    expect(check.stdout).toMatch(/ok {6}login: as oauthuser with XOAUTH2/);
    expect(check.code).toBe(0);
    expect(poll.code).toBe(0);
    expect(endpoint.familiesRevoked).toBe(0);
    expect(endpoint.isRefreshTokenValid(await stored())).toBe(true);
    expect(await dovecot.messageCount(USER)).toBe(0);
  });
});
