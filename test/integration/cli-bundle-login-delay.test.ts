/**
 * The CLI as shipped (the bundle scripts/build.mjs builds, in its own `node`): a server that answers the
 * login with `[LOGIN-DELAY n]` ends the run retry-later, and stderr says when the mailbox may be polled
 * again. A server whose APOP is refused but USER/PASS works is still drained (auth auto falls back).
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type ScriptServer, startScriptServer } from '../support/script-server.ts';

let buildDir: string;
let runner: string;

beforeAll(async () => {
  ({ dir: buildDir, runner } = await buildCliBundle('cli-bundle-delay-'));
}, 180_000);

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

async function poll(server: ScriptServer, out: string) {
  const configFile = path.join(buildDir, `mailboxes-${server.port}.json`);
  const mailbox = {
    id: 'support',
    host: server.host,
    port: server.port,
    tls: 'none',
    allowInsecureAuth: true,
    username: 'alice',
    password: 'secret',
  };
  await writeFile(configFile, JSON.stringify({ mailboxes: [mailbox] }));
  return runBuiltCli(runner, ['poll', '--config', configFile, '--out', out], {
    cwd: buildDir,
    env: { PATH: process.env.PATH ?? '' },
  });
}

it('[LOGIN-DELAY 600]: exit 1, retry-later (LOGIN-DELAY), and when the next poll is allowed', {
  timeout: 60_000,
}, async () => {
  const server = await startScriptServer([
    { send: '+OK ready\r\n' },
    { expect: 'CAPA' },
    { send: '+OK\r\nUSER\r\nLOGIN-DELAY 900\r\n.\r\n' },
    { expect: 'USER alice' },
    { send: '+OK\r\n' },
    { expect: 'PASS secret' },
    { send: '-ERR [LOGIN-DELAY 600] minimum time between logins not elapsed\r\n' },
  ]);
  const started = Date.now();
  const { status, stdout, stderr } = await poll(server, path.join(buildDir, 'out-delay'));
  await server.close();
  expect(status).toBe(1);
  expect(stdout).toMatch(/^support: retry-later \(LOGIN-DELAY\)/);
  const line = /support: the server allows the next poll in 600 s \((\S+)\)/.exec(stderr);
  expect(line).not.toBeNull();
  const when = Date.parse(line![1]!);
  expect(when).toBeGreaterThanOrEqual(started + 600_000);
  expect(when).toBeLessThanOrEqual(Date.now() + 600_000);
});

it('APOP refused, USER/PASS accepted on the same connection: the message is stored', {
  timeout: 60_000,
}, async () => {
  const message = 'From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n';
  const server = await startScriptServer(async (conn) => {
    await conn.write('+OK ready <1.2@example.org>\r\n');
    const replies: Record<string, string> = {
      CAPA: '+OK\r\nUSER\r\nUIDL\r\n.\r\n',
      'USER alice': '+OK\r\n',
      'PASS secret': '+OK\r\n',
      UIDL: '+OK\r\n1 a1\r\n.\r\n',
      LIST: `+OK\r\n1 ${message.length}\r\n.\r\n`,
      'RETR 1': `+OK\r\n${message}.\r\n`,
      'DELE 1': '+OK\r\n',
      QUIT: '+OK\r\n',
    };
    for (;;) {
      const line = await conn.readLine();
      const reply = line.startsWith('APOP ')
        ? '-ERR [AUTH] APOP not enabled for this user\r\n'
        : replies[line];
      await conn.write(reply ?? '-ERR unknown\r\n');
      if (line === 'QUIT') return;
    }
  });
  const out = path.join(buildDir, 'out-apop');
  const { status, stdout } = await poll(server, out);
  await server.done;
  await server.close();
  expect(status).toBe(0);
  expect(stdout).toMatch(/^support: ok/);
  expect(server.transcript()).toMatch(/C: APOP alice [0-9a-f]{32}\n.*\nC: USER alice/);
  expect((await readdir(out, { recursive: true })).some((name) => name.endsWith('.eml'))).toBe(true);
});
