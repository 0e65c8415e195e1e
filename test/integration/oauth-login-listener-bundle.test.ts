/**
 * `mailbox-poller oauth login --provider google` as shipped (the bundle, in its own `node`): the loopback
 * listener the browser returns to can be reached by any program on the machine. A request that is not the
 * sign-in's answer (another path, no state, a wrong state) is turned away and reported, and the login goes
 * on waiting for the browser.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltCli, buildCliBundle } from '../support/cli-bundle.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const DESKTOP = { clientId: 'desktop-app' };

let built: BuiltCli;
let endpoint: TokenEndpoint;

beforeAll(async () => {
  [built, endpoint] = await Promise.all([
    buildCliBundle('oauth-login-listener-'),
    startTokenEndpoint({ clients: [DESKTOP] }),
  ]);
}, 180_000);

afterAll(async () => {
  await endpoint?.close();
  await built?.remove();
});

interface Login {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly stdout: () => string;
  readonly exit: Promise<number | null>;
}

function startLogin(out: string, timeoutSeconds: number): Login {
  const args = ['--provider', 'google', '--client-id', DESKTOP.clientId, '--scope', 'pop'];
  args.push('--token-url', endpoint.tokenUrl, '--authorization-url', `${endpoint.url}/authorize`);
  args.push('--out', out, '--timeout', String(timeoutSeconds));
  const child = spawn(process.execPath, [built.runner, 'oauth', 'login', ...args], {
    env: { PATH: process.env.PATH },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, stdout: () => stdout, exit };
}

/** The authorization address the CLI asks the person to open, once it has printed it. */
async function authorizationAddress(login: Login): Promise<URL> {
  for (let i = 0; i < 400; i++) {
    const match = login.stderr().match(/http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+/);
    if (match) return new URL(match[0]);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  login.child.kill();
  throw new Error(`the login never printed the address; stderr: ${login.stderr()}`);
}

describe('oauth login: the loopback listener on a shared machine', () => {
  it("turns away a request to / and one with a wrong state, then takes the browser's return", async () => {
    const out = path.join(built.dir, 'google-secret.json');
    const login = startLogin(out, 60);
    const address = await authorizationAddress(login);
    const redirectUri = address.searchParams.get('redirect_uri') ?? '';
    expect(redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    // Another local program, first: the bare address, a forged answer with its own code, another path.
    expect((await fetch(redirectUri)).status).toBe(400);
    const forged = await fetch(`${redirectUri}?code=forged-code&state=guessed`);
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('not the answer to the sign-in');
    expect((await fetch(`${redirectUri}favicon.ico`)).status).toBe(404);

    // Then the person's browser: consent, and the redirect back with the code and the right state.
    const browser = await fetch(address, { redirect: 'follow' });
    expect(await browser.text()).toContain('sign-in received');
    expect(await login.exit, login.stderr()).toBe(0);

    const ignored = login
      .stderr()
      .match(/ignored a request to http:\/\/127\.0\.0\.1:\d+\/ without this sign-in's state/g);
    expect(ignored).toHaveLength(2);
    expect(login.stdout()).toContain(`refresh token stored in ${out}`);
    const document = JSON.parse(await readFile(out, 'utf8')) as Record<string, string>;
    expect(document).toMatchObject({ grant: 'refresh_token', provider: 'google', scope: 'pop' });
    expect(endpoint.isRefreshTokenValid(document['refreshToken'] ?? '')).toBe(true);
  });

  it('when only stray requests came, the timeout says how many were ignored', async () => {
    const out = path.join(built.dir, 'never-written.json');
    const login = startLogin(out, 3);
    const address = await authorizationAddress(login);
    const redirectUri = address.searchParams.get('redirect_uri') ?? '';
    expect((await fetch(`${redirectUri}?state=guessed`)).status).toBe(400);
    expect(await login.exit).toBe(1);
    expect(login.stderr()).toContain(
      "oauth login failed: nobody completed the sign-in in time (--timeout) (1 request(s) without this sign-in's state were ignored)",
    );
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});
