/**
 * An empty poll, the most common poll of a fleet, with as few round trips as RFC 2449 allows, counted at
 * a TCP proxy between the client and a real Dovecot: each time the client speaks again after the server
 * spoke is one turn (the TLS handshake's two included). Over implicit TLS: ClientHello, Finished, CAPA,
 * AUTH PLAIN, CAPA+UIDL+LIST, QUIT. Before, the CAPA after login had a turn of its own and QUIT's reply
 * was waited for. Through the library and through the built CLI, which also shows that a wrong password
 * costs one failed login per run (three before).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { testMailbox } from '../support/mailbox.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const EMPTY = { name: 'empty', password: 'nothing here 3' };
/** Turns of an empty poll over implicit TLS, QUIT included (7 before). */
const MAX_TURNS_IMPLICIT_TLS = 6;

let dovecot: DovecotServer;
let proxy: TcpProxy;
let cli: BuiltCli;
let turns = 0;
let serverSpokeLast = true;

beforeAll(async () => {
  [dovecot, cli] = await Promise.all([
    // One long-lived login process, as a server behind one TLS endpoint: it can resume the sessions it
    // issued (Dovecot's default, a process per connection, cannot).
    startDovecot({
      users: [EMPTY],
      extraConfig: 'service pop3-login {\n  service_count = 0\n  process_min_avail = 1\n}\n',
    }),
    buildCliBundle('cli-bundle-round-trips-'),
  ]);
  proxy = await startTcpProxy({
    target: { host: dovecot.host, port: dovecot.pop3sPort },
    delayMs: 5,
    onClientData: () => {
      if (serverSpokeLast) turns++;
      serverSpokeLast = false;
      return 'pass';
    },
    onServerData: () => {
      serverSpokeLast = true;
      return 'pass';
    },
  });
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await dovecot?.stop();
  await cli?.remove();
});

function countFromHere(): void {
  turns = 0;
  serverSpokeLast = true;
}

const mailbox = () =>
  testMailbox({
    id: 'empty',
    host: proxy.host,
    port: proxy.port,
    tls: 'implicit',
    servername: 'localhost',
    ca: dovecot.caPem,
    username: EMPTY.name,
    credential: { literal: EMPTY.password },
    allowInsecureAuth: false,
  });

describe('an empty poll', () => {
  it(`over implicit TLS takes at most ${MAX_TURNS_IMPLICIT_TLS} turns, QUIT included`, async () => {
    const ports = localPorts();
    onTestFinished(() => ports.remove());
    const logouts = () => dovecot.readLog().match(/pop3\(empty\).*Disconnected: Logged out/g)?.length ?? 0;
    for (let run = 0; run < 2; run++) {
      countFromHere();
      const before = logouts();
      const outcome = await pollMailbox(mailbox(), ports, Deadline.after(30_000));
      expect(outcome).toMatchObject({ status: 'ok', counts: { found: 0 } });
      // The QUIT left although its reply was not waited for: Dovecot logs a clean logout. Counted once it
      // has, so the count does not depend on whether the proxy saw the QUIT before the poll returned.
      await vi.waitFor(() => expect(logouts()).toBe(before + 1), { timeout: 5_000 });
      expect(turns).toBeLessThanOrEqual(MAX_TURNS_IMPLICIT_TLS);
    }
  });

  it('a second connection in the same process resumes the TLS session', async () => {
    const connect = () =>
      Pop3Client.connect({
        host: proxy.host,
        port: proxy.port,
        tls: 'implicit',
        ca: dovecot.caPem,
        servername: 'localhost',
      });
    const first = await connect();
    await first.capa(); // TLS 1.3 session tickets arrive after the handshake, with the first data
    first.abort();
    const second = await connect();
    expect(second.tlsResumed).toBe(true);
    second.abort();
    // Another certificate name is other trust: no session is offered, the full check runs and fails.
    await expect(
      Pop3Client.connect({
        host: proxy.host,
        port: proxy.port,
        tls: 'implicit',
        ca: dovecot.caPem,
        servername: 'mail.example.org',
      }),
    ).rejects.toThrow(/mail\.example\.org/);
  });
});

describe('the built CLI', () => {
  async function pollWithCli(password: string) {
    const configFile = path.join(cli.dir, `mailboxes-${password.length}.json`);
    const entry = {
      id: 'empty',
      host: proxy.host,
      port: proxy.port,
      tls: 'implicit',
      servername: 'localhost',
      ca: dovecot.caPem,
      username: EMPTY.name,
      password,
    };
    await writeFile(configFile, JSON.stringify({ mailboxes: [entry] }));
    countFromHere();
    return runBuiltCli(cli.runner, ['poll', '--config', configFile, '--out', path.join(cli.dir, 'out')], {
      cwd: cli.dir,
      env: { PATH: process.env.PATH ?? '' },
    });
  }

  it(`polls an empty mailbox in at most ${MAX_TURNS_IMPLICIT_TLS} turns, QUIT included`, {
    timeout: 60_000,
  }, async () => {
    const run = await pollWithCli(EMPTY.password);
    expect(run.status).toBe(0);
    expect(turns).toBeLessThanOrEqual(MAX_TURNS_IMPLICIT_TLS);
  });

  it('with a wrong password: one failed login, as Dovecot counts it', { timeout: 60_000 }, async () => {
    const logOffset = dovecot.readLog().length;
    const run = await pollWithCli('Wrong-Battery-Staple-42');
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('auth-failed');
    const aborted = await vi.waitFor(
      () => {
        const line = dovecot
          .readLog()
          .slice(logOffset)
          .split('\n')
          .find((candidate) => /pop3-login: Info: (Aborted login|Disconnected).*auth failed/.test(candidate));
        if (line === undefined) throw new Error('no failed login in the Dovecot log yet');
        return line;
      },
      { timeout: 5_000, interval: 50 },
    );
    expect(aborted).toMatch(/auth failed, 1 attempts/);
  });
});
