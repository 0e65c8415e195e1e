/**
 * OAuth2 mailboxes through the CLI (`main`) against Dovecot with `auth_mechanisms = xoauth2 oauthbearer`
 * and the oauth2 passdb, which asks the test token endpoint (introspection) whether a token is live.
 * The credential documents are local secret files, as `mailbox-poller oauth login` writes them.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../lib/cli/io.ts';
import { main } from '../../lib/cli/main.ts';
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

/** A client-credentials document for the test app, asking for `scope`. */
function clientCredentials(scope: string): object {
  return { grant: 'client_credentials', ...APP, scope, tokenUrl: endpoint.tokenUrl };
}

/** A mechanism that logs in with the token: each drains the mailbox with a client-credentials secret file. */
const DRAINS = [
  { name: 'drains the mailbox with a client-credentials secret file', extra: {} },
  { name: 'logs in with OAUTHBEARER when asked to', extra: { auth: 'oauthbearer' } },
] as const;

/** A credential the poll cannot log in with: auth-failed, the mailbox untouched, the token never shown. */
const REFUSALS = [
  {
    name: 'reports a revoked refresh token as auth-revoked, without touching the mailbox',
    grant: 'refresh_token',
    document: () => ({
      grant: 'refresh_token',
      clientId: DESKTOP.clientId,
      refreshToken: 'rt-revoked',
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    }),
    reason: 'auth-revoked',
    messageParts: ['invalid_grant', 'oauth login'],
  },
  {
    name: 'a token the server refuses: auth-failed quoting the server and the decoded claims, never the token',
    grant: 'client_credentials',
    document: () => clientCredentials('wrong-scope'),
    reason: 'auth',
    messageParts: ['roles=wrong-scope', 'tid=test-tenant'],
  },
] as const;

describe('CLI with an OAuth2 mailbox (XOAUTH2 against Dovecot)', () => {
  // Rows as [name, row] so that vitest prints each name whole and unquoted ('%s').
  it.each(DRAINS.map((row) => [row.name, row] as const))('%s', async (_name, { extra }) => {
    await dovecot.seed(USER, [message(1), message(2)]);
    const secret = await secretFile(clientCredentials('pop'));
    const config = await configWith({ grant: 'client_credentials', secret: { file: secret } }, extra);
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

  it.each(REFUSALS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await dovecot.seed(USER, [message(6)]);
    const secret = await secretFile(row.document());
    const config = await configWith({ grant: row.grant, secret: { file: secret } });
    const result = await cli(['poll', '--json', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(result.status).toBe(1);
    const [outcome] = JSON.parse(result.stdout) as [{ status: string; reason: string; message: string }];
    expect(outcome).toMatchObject({ status: 'auth-failed', reason: row.reason });
    for (const part of row.messageParts) expect(outcome.message).toContain(part);
    expect(outcome.message).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(await dovecot.messageCount(USER)).toBe(1);
  });
});

describe('mailbox-poller check', () => {
  it('passes every step against the XOAUTH2 Dovecot, showing the claims and never the token', async () => {
    await dovecot.seed(USER, [message(8), message(9)]);
    const secret = await secretFile(clientCredentials('pop'));
    const config = await configWith({ grant: 'client_credentials', secret: { file: secret } });
    const result = await cli(['check', '--config', config]);
    expect(result.status).toBe(0);
    for (const stepName of ['DNS', 'TCP', 'TLS', 'greeting', 'CAPA', 'token', 'login', 'STAT']) {
      expect(result.stdout).toMatch(new RegExp(`ok {6}${stepName}:`));
    }
    expect(result.stdout).toContain('SASL');
    expect(result.stdout).toContain('XOAUTH2');
    expect(result.stdout).toContain('roles=pop');
    expect(result.stdout).toContain('2 messages');
    expect(result.stdout).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    expect(await dovecot.messageCount(USER)).toBe(2);
  });

  it('fails the login step with a hint when the token has the wrong scope', async () => {
    const secret = await secretFile(clientCredentials('calendar'));
    const config = await configWith({ grant: 'client_credentials', secret: { file: secret } });
    const result = await cli(['check', '--config', config, '--mailbox', 'oauth']);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('ok      token: token claims:');
    expect(result.stdout).toContain('roles=calendar');
    expect(result.stdout).toMatch(/FAILED {2}login: .*Authentication failed/);
    expect(result.stdout).toMatch(/hint: .*scope or role/);
    expect(result.stdout).not.toContain('STAT');
  });
});

describe('mailbox-poller oauth login', () => {
  /** Waits until the CLI has written a line matching `pattern` to stderr, and returns the match. */
  async function waitFor(stderr: string[], pattern: RegExp): Promise<RegExpMatchArray> {
    for (let i = 0; i < 200; i++) {
      const match = stderr.join('').match(pattern);
      if (match) return match;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`never printed ${pattern}`);
  }

  function startLogin(argv: string[]) {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const io: CliIo = {
      stdout: { write: (t) => stdout.push(t) },
      stderr: { write: (t) => stderr.push(t) },
      env: {},
    };
    return { stdout, stderr, status: main(['oauth', 'login', ...argv], io) };
  }

  it('microsoft: device code flow writes a refresh-token document a poll then uses', async () => {
    const out = path.join(workDir, 'ms-secret.json');
    const login = startLogin([
      '--provider',
      'microsoft',
      '--client-id',
      DESKTOP.clientId,
      '--scope',
      'pop offline_access',
      '--token-url',
      endpoint.tokenUrl,
      '--device-authorization-url',
      `${endpoint.url}/devicecode`,
      '--out',
      out,
    ]);
    await waitFor(login.stderr, /enter the code ABCD-EFGH/);
    expect(await login.status).toBe(0);
    const document = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>;
    expect(document).toMatchObject({
      grant: 'refresh_token',
      provider: 'microsoft',
      clientId: DESKTOP.clientId,
      tokenUrl: endpoint.tokenUrl,
    });
    expect(endpoint.isRefreshTokenValid(document['refreshToken'] ?? '')).toBe(true);
    expect(login.stdout.join('')).toContain(`refresh token stored in ${out}`);
    expect(login.stdout.join('')).not.toContain(document['refreshToken']);

    await dovecot.seed(USER, [message(10)]);
    const config = await configWith({ grant: 'refresh_token', secret: { file: out } });
    const polled = await cli(['poll', '--config', config, '--out', path.join(workDir, 'out')]);
    expect(polled.stderr).toBe('');
    expect(await dovecot.messageCount(USER)).toBe(0);
  });

  it('google: authorization code + PKCE through a loopback redirect', async () => {
    const out = path.join(workDir, 'google-secret.json');
    const login = startLogin([
      '--provider',
      'google',
      '--client-id',
      DESKTOP.clientId,
      '--scope',
      'pop',
      '--token-url',
      endpoint.tokenUrl,
      '--authorization-url',
      `${endpoint.url}/authorize`,
      '--out',
      out,
    ]);
    const [address] = await waitFor(login.stderr, /http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/);
    const url = new URL(address);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // The person's browser: consent, then the redirect back to the CLI's loopback listener.
    const browser = await fetch(address, { redirect: 'follow' });
    expect(await browser.text()).toContain('sign-in received');
    expect(await login.status).toBe(0);
    const document = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>;
    expect(document).toMatchObject({ grant: 'refresh_token', provider: 'google', scope: 'pop' });
    expect(endpoint.isRefreshTokenValid(document['refreshToken'] ?? '')).toBe(true);
  });
});
