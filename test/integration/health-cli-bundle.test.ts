/**
 * The circuit breaker and mailbox health in the CLI as shipped (the bundle scripts/build.mjs builds, run
 * in its own `node`), against Dovecot: a refused password is tried once and then held back run after run
 * (as from cron), `status` puts the mailbox that needs a person first and exits 1, `poll --force` tries
 * anyway, `reset` closes the breaker, and a fixed password brings everything back to ok and exit 0.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const PASSWORD = 'health-cli-password-3310';
let cli: BuiltCli;
let dovecot: DovecotServer;
let proxy: TcpProxy;
let aws: Fauxqs;
let configFile: string;
let out: string;

beforeAll(async () => {
  [cli, dovecot, aws] = await Promise.all([
    buildCliBundle('health-cli-'),
    startDovecot({
      users: [
        { name: 'alice', password: PASSWORD },
        { name: 'bob', password: PASSWORD },
      ],
    }),
    startFauxqs(),
  ]);
  await aws.createBucket('fleet');
  proxy = await startTcpProxy({ target: { host: dovecot.host, port: dovecot.pop3Port } });
  configFile = path.join(cli.dir, 'mailboxes.json');
  out = path.join(cli.dir, 'out');
  const common = { host: '127.0.0.1', tls: 'none', allowInsecureAuth: true, auth: 'user' };
  await writeFile(
    configFile,
    JSON.stringify({
      mailboxes: [
        { id: 'good', ...common, port: dovecot.pop3Port, username: 'bob', password: PASSWORD },
        { id: 'bad', ...common, port: proxy.port, username: 'alice', password: { env: 'BAD_PASSWORD' } },
      ],
    }),
  );
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await dovecot?.stop();
  await aws?.stop();
  await cli?.remove();
});

function run(args: string[], badPassword = 'not-the-password', extraEnv: NodeJS.ProcessEnv = {}) {
  return runBuiltCli(cli.runner, args, {
    cwd: cli.dir,
    env: {
      ...extraEnv,
      PATH: process.env.PATH ?? '',
      BAD_PASSWORD: badPassword,
      MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks'),
    },
  });
}

const poll = (...extra: string[]) => run(['poll', '--config', configFile, '--out', out, ...extra]);
const status = (...extra: string[]) => run(['status', '--config', configFile, '--out', out, ...extra]);

test('the built CLI: refused once, then held back; status, --force, reset and the fix', {
  timeout: 120_000,
}, async () => {
  await dovecot.seed('alice', [Buffer.from('Subject: one\r\n\r\nfor alice\r\n')]);
  const first = await poll();
  expect(first.status).toBe(1);
  expect(first.stdout).toMatch(/^bad: auth-failed \(auth\)/m);
  expect(first.stdout).toMatch(/^good: ok/m);
  expect(proxy.connections).toBe(1);

  // From cron, five minutes later: not tried again.
  const second = await poll();
  expect(second.status).toBe(1);
  expect(second.stdout).toMatch(/^bad: failed \(held-back\)/m);
  expect(second.stderr).toContain('mailbox-poller reset bad');
  expect(proxy.connections).toBe(1);

  const shown = await status();
  expect(shown.status).toBe(1);
  const lines = shown.stdout.split('\n');
  expect(lines[0]).toMatch(
    /^bad: needs-attention since \S+, last success never, 1 × auth, next attempt \S+$/,
  );
  expect(lines[1]).toMatch(/^ {4}.*refused/);
  expect(lines[2]).toMatch(/^good: ok since \S+, last success \S+$/);
  const json = JSON.parse((await status('--json')).stdout) as { mailboxId: string; state: string }[];
  expect(json.map((row) => `${row.mailboxId} ${row.state}`)).toEqual(['bad needs-attention', 'good ok']);
  // Without --config: every record in the folder.
  const all = await run(['status', '--out', out]);
  expect(all.status).toBe(1);
  expect(all.stdout).toMatch(/^bad: needs-attention/);

  // A person at the terminal tries anyway.
  const forced = await poll('--force');
  expect(forced.stdout).toMatch(/^bad: auth-failed \(auth\)/m);
  expect(proxy.connections).toBe(2);

  expect((await run(['reset', 'nosuch', '--config', configFile, '--out', out])).status).toBe(2);
  const reset = await run(['reset', 'bad', '--config', configFile, '--out', out]);
  expect(reset.status).toBe(0);
  expect(reset.stdout).toMatch(/^bad: reset; the next run polls it/);
  const afterReset = await status();
  expect(afterReset.status).toBe(0);
  expect(afterReset.stdout).toMatch(/^bad: retrying/);

  // The password is fixed: the next run polls it, and everything is ok.
  // A record that is not ours: the run polls anyway and says so.
  const goodRecord = path.join(out, '.health', 'good.json');
  const kept = await readFile(goodRecord, 'utf8');
  await writeFile(goodRecord, '{');
  const fixed = await run(['poll', '--config', configFile, '--out', out], PASSWORD);
  expect(fixed.stderr).toContain(
    'mailbox-poller: warning: good: health record unreadable; polling without the circuit breaker: health record of good is not JSON',
  );
  await writeFile(goodRecord, kept);
  expect(fixed.status).toBe(0);
  expect(fixed.stdout).toMatch(/^bad: ok — 1 found/m);
  expect(proxy.connections).toBe(3);
  const healthy = await status();
  expect(healthy.status).toBe(0);
  expect(healthy.stdout).toMatch(/^bad: ok since \S+, last success \S+\ngood: ok/);
});

test('the built CLI with S3: status --bucket lists the records a fleet writes there; reset --bucket closes one', {
  timeout: 120_000,
}, async () => {
  const queueUrl = await aws.createQueue('fleet-notifications');
  const s3 = (args: string[], password?: string) => run(args, password, aws.env);
  const target = ['--bucket', 'fleet', '--key-prefix', 'p/'];
  const polled = await s3(['poll', '--config', configFile, ...target, '--queue-url', queueUrl]);
  expect(polled.stdout).toMatch(/^bad: auth-failed \(auth\)/m);
  expect(await aws.listKeys('fleet', 'p/.health/')).toEqual(['p/.health/bad.json', 'p/.health/good.json']);

  const shown = await s3(['status', '--bucket', 'fleet', '--prefix', 'p/']);
  expect(shown.status).toBe(1);
  expect(shown.stdout).toMatch(/^bad: needs-attention since .*1 × auth/);
  expect(shown.stdout).toMatch(/^good: ok/m);

  expect((await s3(['reset', 'bad', '--bucket', 'fleet', '--prefix', 'p/'])).status).toBe(0);
  const after = await s3(['status', '--bucket', 'fleet', '--prefix', 'p/', '--json']);
  expect(after.status).toBe(0);
  expect(JSON.parse(after.stdout).map((r: { state: string }) => r.state)).toEqual(['retrying', 'ok']);
});
