/**
 * The usual mistakes, as a person meets them in the CLI as shipped (the bundle scripts/build.mjs builds,
 * in its own `node`): each gets a message that says what to change, and its exit status. Real Dovecot
 * (plain port with STLS, implicit-TLS port, certificate from a private CA), a plain TCP listener that
 * answers with a TLS record, and a host name that cannot resolve (RFC 6761 `.invalid`).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HINT_DNS,
  HINT_EXPECTS_TLS,
  HINT_NO_TLS,
  HINT_PRIVATE_CA,
} from '../../lib/pipeline/connection-hints.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);
const PASSWORD = 'mistakes-password-7731';

let buildDir: string;
let runner: string;
let dovecot: DovecotServer;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(tmpdir(), 'cli-mistakes-'));
  [dovecot] = await Promise.all([
    startDovecot({ users: [{ name: 'alice', password: PASSWORD }] }),
    exec(process.execPath, ['scripts/build.mjs', '--out-dir', buildDir, '--no-measure'], { cwd: ROOT }),
  ]);
  runner = path.join(buildDir, 'run.mjs');
  await writeFile(
    runner,
    "import { main } from './cli.mjs';\nprocess.exitCode = await main(process.argv.slice(2));\n",
  );
  await mkdir(path.join(buildDir, 'certs'));
  await writeFile(path.join(buildDir, 'certs', 'company-ca.pem'), dovecot.caPem);
}, 180_000);

afterAll(async () => {
  await dovecot?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [runner, ...args], {
      cwd: buildDir,
      env: { PATH: process.env.PATH ?? '', MAILBOX_POLLER_LOCK_DIR: path.join(buildDir, 'locks') },
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Polls one mailbox of alice's account with the fields given; the config file sits in the build dir. */
async function poll(mailbox: Record<string, unknown>, ...args: string[]): Promise<Run> {
  const configFile = path.join(buildDir, `config-${Math.random().toString(36).slice(2)}.json`);
  const config = {
    mailboxes: [{ id: 'support', host: '127.0.0.1', username: 'alice', password: PASSWORD, ...mailbox }],
  };
  await writeFile(configFile, JSON.stringify(config));
  return cli(['poll', '--config', configFile, '--out', path.join(buildDir, 'out'), ...args]);
}

describe('connection mistakes are named with their fix', () => {
  it('plain POP3 against the implicit-TLS port: failed (tls), "the server may expect TLS", not a bare timeout', {
    timeout: 60_000,
  }, async () => {
    // The TLS server waits in silence for a ClientHello; after 1.5 s a probe connection finds it speaks
    // TLS, so the run ends then instead of at the 15 s greeting timeout.
    const run = await poll({ port: dovecot.pop3sPort, tls: 'none', allowInsecureAuth: true });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^support: failed \(tls\) — .* in [0-4]\.\d\d s$/m);
    expect(run.stderr).toContain('expects TLS from the first byte');
    expect(run.stderr).toContain(HINT_EXPECTS_TLS);
  });

  it('plain POP3 against a port that answers with a TLS record: the same hint', async () => {
    // What a TLS endpoint sends a client that did not speak TLS: an alert record (0x15 0x03 …).
    const tlsish = net.createServer((socket) => {
      socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
    });
    await new Promise<void>((resolve) => tlsish.listen(0, '127.0.0.1', resolve));
    try {
      const port = (tlsish.address() as net.AddressInfo).port;
      const run = await poll({ port, tls: 'none', allowInsecureAuth: true });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(HINT_EXPECTS_TLS);
    } finally {
      await new Promise((resolve) => tlsish.close(resolve));
    }
  });

  it('implicit TLS against the plain POP3 port: failed (tls), "the server answered without TLS", no OpenSSL jargon alone', async () => {
    const run = await poll({ port: dovecot.pop3Port, tls: 'implicit' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^support: failed \(tls\)/);
    expect(run.stderr).toContain(HINT_NO_TLS);
  });

  it('a certificate from a private CA: failed (tls) pointing at ca/caFile; with caFile the same mailbox is polled', async () => {
    const untrusted = await poll({ port: dovecot.pop3sPort, tls: 'implicit' });
    expect(untrusted.status).toBe(1);
    expect(untrusted.stdout).toMatch(/^support: failed \(tls\)/);
    expect(untrusted.stderr).toContain(HINT_PRIVATE_CA);

    const trusted = await poll({ port: dovecot.pop3sPort, tls: 'implicit', caFile: 'certs/company-ca.pem' });
    expect(trusted.stderr).toBe('');
    expect(trusted.stdout).toMatch(/^support: ok/);
    expect(trusted.status).toBe(0);
  });

  it('a host that does not resolve: failed (dns), not a TLS failure and not retry-later', async () => {
    const run = await poll({ host: 'nonexistent.invalid', tls: 'implicit' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/^support: failed \(dns\)/);
    expect(run.stderr).toContain(HINT_DNS);
    expect(run.stderr).not.toContain('TLS connection');
  });

  it('an unreadable caFile: exit 2 naming the mailbox and the path, before connecting', async () => {
    const run = await poll({ port: dovecot.pop3sPort, tls: 'implicit', caFile: 'certs/missing.pem' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      `mailboxes[0].caFile (mailbox "support"): cannot read ${path.join(buildDir, 'certs', 'missing.pem')} (ENOENT)`,
    );
  });

  it('a misspelt config key: exit 2 with the closest known key', async () => {
    const run = await poll({ port: dovecot.pop3Port, tls: 'none', allowInsecureAuth: true, servrename: 'x' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(
      'mailboxes[0].servrename: is not a known property; did you mean "servername"?',
    );
  });
});

describe('usage mistakes', () => {
  it('an unknown option: named, the closest known one suggested, then where the help is; exit 2', async () => {
    const run = await cli(['poll', '--config', 'x.json', '--dry-runn']);
    expect(run.status).toBe(2);
    const lines = run.stderr.split('\n');
    expect(lines[0]).toBe('mailbox-poller: unknown option --dry-runn');
    expect(lines[1]).toBe('did you mean --dry-run?');
    expect(lines[2]).toBe("See 'mailbox-poller poll --help'.");
    expect(run.stdout).toBe('');
  });

  it('an option nothing is close to: named, no guess, no parseArgs text', async () => {
    const run = await cli(['poll', '--config', 'x.json', '--frobnicate']);
    expect(run.status).toBe(2);
    expect(run.stderr.split('\n')[0]).toBe('mailbox-poller: unknown option --frobnicate');
    expect(run.stderr).not.toContain('did you mean');
    expect(run.stderr).not.toContain('positional');
  });

  it('-v and -q together are refused', async () => {
    const run = await cli(['poll', '--config', 'x.json', '-v', '-q']);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--verbose and --quiet exclude each other');
  });
});
