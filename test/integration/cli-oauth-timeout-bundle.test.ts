/**
 * `oauth login --timeout` of the CLI as shipped, with nobody signing in: it says so, whatever the flow
 * was doing when the time ran out. Device code (RFC 8628): an authorization server that keeps answering
 * authorization_pending, slowly enough that the timeout falls while a poll is on its way. PKCE with a
 * loopback redirect: no browser ever comes back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOBODY_SIGNED_IN } from '../../lib/cli/loopback-listener.ts';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';

/** Each token request is answered after this long: longer than the poll interval, so one is in flight. */
const POLL_ANSWER_DELAY_MS = 1_500;

let cli: BuiltCli;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const json = (status: number, body: object) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.url === '/devicecode') {
        json(200, {
          device_code: 'device-code',
          user_code: 'ABCD-EFGH',
          verification_uri: `${base}/device`,
          expires_in: 900,
          interval: 1,
        });
        return;
      }
      setTimeout(() => json(400, { error: 'authorization_pending' }), POLL_ANSWER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cli = await buildCliBundle('cli-oauth-timeout-');
}, 180_000);

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await cli?.remove();
});

function login(...args: string[]) {
  return runBuiltCli(
    cli.runner,
    ['oauth', 'login', '--client-id', 'client', '--out', path.join(cli.dir, 'secret.json'), ...args],
    { cwd: cli.dir, env: { PATH: process.env.PATH ?? '' } },
  );
}

describe('oauth login --timeout with nobody signing in (item 11)', () => {
  it('device code: "nobody completed the sign-in in time", not a token endpoint failure', async () => {
    const { status, stderr } = await login(
      '--provider',
      'microsoft',
      '--token-url',
      `${base}/token`,
      '--device-authorization-url',
      `${base}/devicecode`,
      '--timeout',
      '2',
    );
    expect(status).toBe(1);
    expect(stderr).toContain('enter the code ABCD-EFGH');
    expect(stderr).toContain(`mailbox-poller: oauth login failed: ${NOBODY_SIGNED_IN}`);
    expect(stderr).not.toContain('token endpoint');
  });

  it('PKCE: the same message when no browser returns', async () => {
    const { status, stderr } = await login(
      '--provider',
      'google',
      '--token-url',
      `${base}/token`,
      '--authorization-url',
      `${base}/authorize`,
      '--timeout',
      '1',
    );
    expect(status).toBe(1);
    expect(stderr).toContain(`mailbox-poller: oauth login failed: ${NOBODY_SIGNED_IN}`);
  });
});
