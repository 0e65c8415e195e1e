/**
 * `check` and `poll` of the CLI as shipped describe the same mistake with the same words
 * (lib/pipeline/connection-hints.ts): TLS against a plain port, a certificate from a CA this machine does
 * not trust, an OAuth2 token endpoint whose host does not resolve while the POP3 host is fine. And a
 * TLS step that passes names its protocol. Real TLS (the test CA), a plain TCP listener, the project's
 * memory POP3 server, and an RFC 6761 `.invalid` host.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HINT_NO_TLS, HINT_PRIVATE_CA, HINT_TOKEN_DNS } from '../../lib/pipeline/connection-hints.ts';
import { testCertificates } from '../support/certs.ts';
import { type BuiltCli, buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

let cli: BuiltCli;
let pop3: MemoryPop3Server;
let tlsServer: tls.Server;
let plainServer: net.Server;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

let tlsPort: number;
let plainPort: number;

beforeAll(async () => {
  const { certPem, keyPem } = testCertificates();
  tlsServer = tls.createServer({ cert: certPem, key: keyPem }, (socket) => socket.end('+OK ready\r\n'));
  tlsServer.on('tlsClientError', () => undefined);
  plainServer = net.createServer((socket) => {
    // The client gives up with a TLS alert or a reset: not this test's concern.
    socket.on('error', () => undefined);
    socket.end('+OK plain POP3 here\r\n');
  });
  [cli, pop3, tlsPort, plainPort] = await Promise.all([
    buildCliBundle('cli-check-classification-'),
    startMemoryPop3Server({ users: [{ name: 'alice', password: 'unused', messages: [] }] }),
    listen(tlsServer),
    listen(plainServer),
  ]);
}, 180_000);

afterAll(async () => {
  tlsServer?.close();
  plainServer?.close();
  await pop3?.close();
  await cli?.remove();
});

async function configWith(mailbox: Record<string, unknown>): Promise<string> {
  const file = path.join(cli.dir, `config-${Math.random().toString(36).slice(2)}.json`);
  const base = { id: 'support', host: '127.0.0.1', username: 'alice', password: 'unused-password' };
  await writeFile(file, JSON.stringify({ mailboxes: [{ ...base, ...mailbox }] }));
  return file;
}

function run(args: string[]): Promise<CliRun> {
  return runBuiltCli(cli.runner, args, {
    cwd: cli.dir,
    env: { PATH: process.env.PATH ?? '', MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks') },
  });
}

/** check's report: the line of one step and the hint line after it. */
function stepLines(stdout: string, name: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((line) => line.includes(` ${name}: `));
  return at === -1 ? [] : lines.slice(at, at + 2).map((line) => line.trim());
}

describe('check and poll classify alike (item 10)', () => {
  it('a TLS step that passes names the protocol, not "null"', async () => {
    const config = await configWith({ port: tlsPort, tls: 'implicit', ca: testCertificates().caPem });
    const { stdout } = await run(['check', '--config', config]);
    expect(stdout).toMatch(/ok {6}TLS: TLSv1\.[23], certificate for 127\.0\.0\.1/);
    expect(stdout).not.toContain('TLS: null');
  });

  it('implicit TLS on a plain port: "answered without TLS" in one line, as poll says', async () => {
    const config = await configWith({ port: plainPort, tls: 'implicit' });
    const { status, stdout } = await run(['check', '--config', config]);
    expect(status).toBe(1);
    const [failed, hint] = stepLines(stdout, 'TLS');
    expect(failed).toMatch(/^FAILED {2}TLS: /);
    expect(hint).toBe(`hint: ${HINT_NO_TLS}`);
    expect(stdout).not.toContain('not trusted');
    const polled = await run(['poll', '--config', config, '--out', 'out-plain']);
    expect(polled.stderr).toContain(HINT_NO_TLS);
  });

  it('a certificate from an untrusted CA: the hint names ca and caFile', async () => {
    const config = await configWith({ port: tlsPort, tls: 'implicit' });
    const { status, stdout } = await run(['check', '--config', config]);
    expect(status).toBe(1);
    const [failed, hint] = stepLines(stdout, 'TLS');
    expect(failed).toMatch(/^FAILED {2}TLS: certificate chain not trusted/);
    expect(hint).toBe(`hint: ${HINT_PRIVATE_CA}`);
    expect(hint).toContain('caFile');
  });

  it('a token endpoint that does not resolve is named as such, in check and in poll', async () => {
    const secret = path.join(cli.dir, 'unresolvable-secret.json');
    await writeFile(
      secret,
      JSON.stringify({
        grant: 'refresh_token',
        clientId: 'client',
        refreshToken: 'refresh-token-never-sent',
        scope: 'pop',
        tokenUrl: 'https://login.example.invalid/token',
      }),
    );
    const config = await configWith({
      host: pop3.host,
      port: pop3.port,
      tls: 'none',
      allowInsecureAuth: true,
      password: undefined,
      oauth2: { grant: 'refresh_token', secret: { file: secret } },
    });
    const checked = await run(['check', '--config', config]);
    expect(checked.status).toBe(1);
    expect(checked.stdout).toMatch(/ok {6}DNS: /);
    const [failed, hint] = stepLines(checked.stdout, 'token');
    expect(failed).toMatch(/^FAILED {2}token: cannot resolve the token endpoint login\.example\.invalid/);
    expect(hint).toBe(`hint: ${HINT_TOKEN_DNS}`);
    expect(checked.stdout).not.toContain('down or throttling');

    const polled = await run(['poll', '--config', config, '--out', 'out-token']);
    expect(polled.status).toBe(1);
    expect(polled.stderr).toMatch(
      /^mailbox-poller: support: failed \(dns\): cannot resolve the token endpoint login\.example\.invalid \(\w+\); /m,
    );
    expect(polled.stderr).toContain(HINT_TOKEN_DNS);
    expect(polled.stderr).not.toContain('check host (');
  });
});
