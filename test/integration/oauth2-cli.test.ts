/**
 * OAuth2 mailboxes through the CLI (`main`) against Dovecot with `auth_mechanisms = xoauth2 oauthbearer`
 * and the oauth2 passdb, which asks the test token endpoint (introspection) whether a token is live.
 * The credential documents are local secret files, as `mailbox-poller oauth login` writes them.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../lib/cli/main.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const USER = 'oauthuser';
const APP = { clientId: 'poller-app', clientSecret: 'app-secret' };
const DESKTOP = { clientId: 'desktop-app' };
const message = (n: number) => Buffer.from(`From: a@example.com\r\nSubject: oauth ${n}\r\n\r\nbody ${n}\r\n`);

let dovecot: DovecotServer;
let endpoint: TokenEndpoint;
let workDir: string;

beforeAll(async () => {
  endpoint = await startTokenEndpoint({ clients: [APP, DESKTOP] });
  dovecot = await startDovecot({
    users: [{ name: USER, password: 'not-used' }],
    oauth2IntrospectionUrl: `${endpoint.url}/introspect`,
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await endpoint?.close();
});

beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'oauth2-cli-'));
  await dovecot.clear(USER);
  return () => rm(workDir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: { write: (t) => stdout.push(t) },
    stderr: { write: (t) => stderr.push(t) },
    env: {},
  };
  const status = await main(argv, io);
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

async function configWith(oauth2: object, extra: object = {}): Promise<string> {
  const file = path.join(workDir, 'mailboxes.json');
  const mailbox = {
    id: 'oauth',
    host: dovecot.host,
    port: dovecot.pop3sPort,
    tls: 'implicit',
    ca: dovecot.caPem,
    username: USER,
    oauth2,
    ...extra,
  };
  await writeFile(file, JSON.stringify({ mailboxes: [mailbox] }));
  return file;
}

async function secretFile(document: object): Promise<string> {
  const file = path.join(workDir, 'oauth-secret.json');
  await writeFile(file, JSON.stringify(document));
  return file;
}

async function storedCount(): Promise<number> {
  const out = path.join(workDir, 'out');
  const entries = await readdir(out, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.eml')).length;
}

describe('CLI with an OAuth2 mailbox (XOAUTH2 against Dovecot)', () => {
  it('drains the mailbox with a client-credentials secret file', async () => {
    await dovecot.seed(USER, [message(1), message(2)]);
    const secret = await secretFile({
      grant: 'client_credentials',
      ...APP,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    const config = await configWith({ grant: 'client_credentials', secret: { file: secret } });
    const before = endpoint.issued.length;
    const result = await cli(['poll', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(await dovecot.messageCount(USER)).toBe(0);
    expect(await storedCount()).toBe(2);
    expect(endpoint.issued.slice(before).map((r) => r.grantType)).toEqual(['client_credentials']);
  });

  it('drains with a refresh-token secret file, writes the rotated token back, and the next run uses it', async () => {
    await dovecot.seed(USER, [message(3)]);
    const first = endpoint.grantRefreshToken(USER, DESKTOP.clientId, 'pop');
    const secret = await secretFile({
      grant: 'refresh_token',
      clientId: DESKTOP.clientId,
      refreshToken: first,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    const config = await configWith({ grant: 'refresh_token', secret: { file: secret } });
    expect((await cli(['poll', '--config', config, '--out', path.join(workDir, 'out')])).status).toBe(0);
    const rotated = JSON.parse(await readFile(secret, 'utf8')) as { refreshToken: string; clientId: string };
    expect(rotated.refreshToken).not.toBe(first);
    expect(rotated.clientId).toBe(DESKTOP.clientId);
    expect(endpoint.isRefreshTokenValid(first)).toBe(false);
    expect(endpoint.isRefreshTokenValid(rotated.refreshToken)).toBe(true);

    await dovecot.seed(USER, [message(4)]);
    const second = await cli(['poll', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(second.stderr).toBe('');
    expect(second.status).toBe(0);
    expect(await storedCount()).toBe(2);
    expect(JSON.parse(await readFile(secret, 'utf8')).refreshToken).not.toBe(rotated.refreshToken);
  });

  it('logs in with OAUTHBEARER when asked to', async () => {
    await dovecot.seed(USER, [message(5)]);
    const secret = await secretFile({
      grant: 'client_credentials',
      ...APP,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    const config = await configWith(
      { grant: 'client_credentials', secret: { file: secret } },
      { auth: 'oauthbearer' },
    );
    const result = await cli(['poll', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(await dovecot.messageCount(USER)).toBe(0);
  });

  it('reports a revoked refresh token as auth-revoked, without touching the mailbox', async () => {
    await dovecot.seed(USER, [message(6)]);
    const secret = await secretFile({
      grant: 'refresh_token',
      clientId: DESKTOP.clientId,
      refreshToken: 'rt-revoked',
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    const config = await configWith({ grant: 'refresh_token', secret: { file: secret } });
    const result = await cli(['poll', '--json', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(result.status).toBe(1);
    const [outcome] = JSON.parse(result.stdout) as [{ status: string; reason: string; message: string }];
    expect(outcome).toMatchObject({ status: 'auth-failed', reason: 'auth-revoked' });
    expect(outcome.message).toContain('invalid_grant');
    expect(outcome.message).toContain('oauth login');
    expect(await dovecot.messageCount(USER)).toBe(1);
  });

  it('a token the server refuses: auth-failed quoting the server and the decoded claims, never the token', async () => {
    await dovecot.seed(USER, [message(7)]);
    const secret = await secretFile({
      grant: 'client_credentials',
      ...APP,
      scope: 'wrong-scope',
      tokenUrl: endpoint.tokenUrl,
    });
    const config = await configWith({ grant: 'client_credentials', secret: { file: secret } });
    const result = await cli(['poll', '--json', '--config', config, '--out', path.join(workDir, 'out')]);
    const [outcome] = JSON.parse(result.stdout) as [{ status: string; reason: string; message: string }];
    expect(outcome).toMatchObject({ status: 'auth-failed', reason: 'auth' });
    expect(outcome.message).toContain('roles=wrong-scope');
    expect(outcome.message).toContain('tid=test-tenant');
    expect(outcome.message).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(await dovecot.messageCount(USER)).toBe(1);
  });
});
