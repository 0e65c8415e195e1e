/**
 * What the CLI as shipped prints while it works, and that two runs never drain one mailbox at once:
 * `-v` (a line per message), `--trace` (the conversation, secrets redacted: the password and the AUTH
 * PLAIN data must appear nowhere in the output), `-q` (errors only), and the per-mailbox lock with two
 * real CLI processes started together against one Dovecot mailbox holding the mail corpus.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusAvailable, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);
const PASSWORD = 'output-secret-Zq81x';
const USERS = ['verbose', 'trace', 'plain', 'quiet', 'locked'].map((name) => ({ name, password: PASSWORD }));
const SMALL = Array.from({ length: 5 }, (_, i) =>
  Buffer.from(`From: a@example.com\r\nSubject: secret subject ${i + 1}\r\n\r\nsecret body ${i + 1}\r\n`),
);

let buildDir: string;
let runner: string;
let dovecot: DovecotServer;

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(tmpdir(), 'cli-output-'));
  [dovecot] = await Promise.all([
    startDovecot({ users: USERS }),
    exec(process.execPath, ['scripts/build.mjs', '--out-dir', buildDir, '--no-measure'], { cwd: ROOT }),
  ]);
  runner = path.join(buildDir, 'run.mjs');
  await writeFile(
    runner,
    "import { main } from './cli.mjs';\nprocess.exitCode = await main(process.argv.slice(2));\n",
  );
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

async function cli(args: string[], lockDir = path.join(buildDir, 'locks')): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [runner, ...args], {
      cwd: buildDir,
      env: { PATH: process.env.PATH ?? '', MAILBOX_POLLER_LOCK_DIR: lockDir },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function configFor(user: string, fields: Record<string, unknown> = {}): Promise<string> {
  const file = path.join(buildDir, `${user}-${Math.random().toString(36).slice(2)}.json`);
  const mailbox = {
    id: user,
    host: '127.0.0.1',
    port: dovecot.pop3Port,
    tls: 'none',
    allowInsecureAuth: true,
    username: user,
    password: { env: 'POP3_PASSWORD' },
    ...fields,
  };
  await writeFile(file, JSON.stringify({ mailboxes: [mailbox] }));
  return file;
}

async function poll(user: string, fields: Record<string, unknown>, ...args: string[]): Promise<Run> {
  const config = await configFor(user, { password: PASSWORD, ...fields });
  return cli(['poll', '--config', config, '--out', path.join(buildDir, `out-${user}`), ...args]);
}

describe('what the CLI prints', () => {
  it('-v: one line per message on stderr with number, UIDL, size, key and what was done', async () => {
    const large = Buffer.from(`Subject: large\r\n\r\n${'x'.repeat(3000)}\r\n`);
    await dovecot.seed('verbose', [...SMALL, large]);
    const run = await poll('verbose', { limits: { maxMessageBytes: 2000 } }, '-v');
    expect(run.status).toBe(0);
    const lines = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('mailbox-poller: verbose: message '));
    expect(lines).toHaveLength(SMALL.length + 1);
    const numbers = lines.map((line) => Number(/message (\d+) /.exec(line)?.[1])).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
    const left = lines.filter((line) => line.startsWith('mailbox-poller: verbose: message 6 '));
    expect(left).toEqual([expect.stringMatching(/ {2}- {2}- {2}left on the server \(oversized: .+\)$/)]);
    for (const line of lines.filter((l) => !left.includes(l))) {
      const [, uidl, size, key, fate] =
        /^mailbox-poller: verbose: message \d+ {2}(\S+) {2}(\d+ B) {2}(\S+) {2}(.*)$/.exec(line) ?? [];
      expect(key, line).toContain(`verbose/uidl/${encodeURIComponent(uidl ?? '?')}/`);
      expect(size, line).toMatch(/^\d+ B$/);
      expect(fate, line).toBe('stored, notified, deleted');
    }
    expect(run.stdout).toMatch(/^verbose: ok .* 5 deleted, 1 skipped, 1 left on the server/);
  });

  it('--trace: the conversation on stderr, PASS and AUTH PLAIN redacted, bodies by size only', async () => {
    await dovecot.seed('trace', SMALL);
    const userPass = await poll('trace', { auth: 'user' }, '--trace');
    const plain = await poll('trace', { auth: 'plain' }, '--trace', '--dry-run');
    for (const run of [userPass, plain]) {
      const everything = run.stdout + run.stderr;
      expect(run.status, everything).toBe(0);
      expect(everything).not.toContain(PASSWORD);
      const saslPlain = Buffer.from(`\0trace\0${PASSWORD}`).toString('base64');
      expect(everything).not.toContain(saslPlain);
      expect(everything).not.toContain(saslPlain.slice(8, 24));
      expect(everything).not.toContain('secret body');
      expect(run.stderr).toMatch(/^trace S: \+OK /m);
    }
    expect(userPass.stderr).toMatch(/^trace C: USER trace$/m);
    expect(userPass.stderr).toMatch(/^trace C: PASS \*\*\*$/m);
    expect(userPass.stderr).toMatch(/^trace C: RETR 1$/m);
    expect(userPass.stderr).toMatch(/^trace S: \(\d+ octets of RETR body\)$/m);
    expect(userPass.stderr).toMatch(/^trace C: QUIT$/m);
    expect(plain.stderr).toMatch(/^trace C: AUTH PLAIN( \*\*\*)?$/m);
    expect(plain.stderr).not.toMatch(/^trace C: PASS/m);
  });

  it('-q: nothing at all on success; on failure only the error, and no summary', async () => {
    await dovecot.seed('quiet', SMALL);
    const ok = await poll('quiet', {}, '-q');
    expect(ok).toEqual({ status: 0, stdout: '', stderr: '' });

    const refused = await poll('quiet', { password: 'wrong-password' }, '-q');
    expect(refused.status).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^mailbox-poller: quiet: auth-failed \(auth\)/);
  });
});

describe.runIf(corpusAvailable())('two runs on one mailbox at once', () => {
  it('never overlap: every message of the corpus is notified exactly once over both runs', {
    timeout: 180_000,
  }, async () => {
    const corpus = loadCorpus();
    await dovecot.seed(
      'locked',
      corpus.map((message) => toCrlf(message.bytes)),
    );
    // Two configurations and two destinations: the lock is per server account, not per config or folder.
    const [configA, configB] = [
      await configFor('locked', { id: 'locked-a' }),
      await configFor('locked', { id: 'locked-b' }),
    ];
    const outA = path.join(buildDir, 'out-lock-a');
    const outB = path.join(buildDir, 'out-lock-b');
    const env = {
      PATH: process.env.PATH ?? '',
      POP3_PASSWORD: PASSWORD,
      MAILBOX_POLLER_LOCK_DIR: path.join(buildDir, 'locks'),
    };
    const run = (config: string, out: string) =>
      exec(process.execPath, [runner, 'poll', '--config', config, '--out', out], { cwd: buildDir, env }).then(
        ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
        (error: { code: number; stdout: string; stderr: string }) => ({ ...error, status: error.code }),
      );
    const [a, b] = await Promise.all([run(configA, outA), run(configB, outB)]);

    const statuses = [a.status, b.status].sort();
    // Either one run found the mailbox locked (exit 75) or the second started after the first had finished.
    expect(statuses[0], a.stderr + b.stderr).toBe(0);
    expect([0, 75]).toContain(statuses[1]);
    const lockedRun = [a, b].find((r) => r.status === 75);
    if (lockedRun) {
      expect(lockedRun.stdout).toMatch(/: retry-later \(locked\) — 0 found/);
      expect(lockedRun.stderr).toMatch(/another run \(pid \d+, since .*\) is polling locked on 127\.0\.0\.1/);
    }

    const notifications = (
      await Promise.all(
        [outA, outB].map((out) => readFile(path.join(out, 'notifications.jsonl'), 'utf8').catch(() => '')),
      )
    )
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { pop3: { uidl: string } });
    const uidls = notifications.map((n) => n.pop3.uidl);
    expect(uidls).toHaveLength(corpus.length);
    expect(new Set(uidls).size).toBe(corpus.length);
    expect(await dovecot.messageCount('locked')).toBe(0);
  });

  it('the lock of a run that died is taken over (its pid is gone)', async () => {
    await dovecot.seed('locked', SMALL);
    const { lockMailbox, lockPath } = await import('../../lib/cli/mailbox-lock.ts');
    const dir = path.join(buildDir, 'locks');
    const account = { id: 'locked', host: '127.0.0.1', port: dovecot.pop3Port, username: 'locked' };
    const held = await lockMailbox(dir, account, 0);
    expect(held.acquired).toBe(true);
    // Rewrite the holder as a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max default).
    const file = lockPath(dir, account);
    const holder = JSON.parse(await readFile(file, 'utf8')) as { pid: number };
    await writeFile(file, JSON.stringify({ ...holder, pid: 4_194_305 }));
    const run = await poll('locked', {}, '-q');
    expect(run).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await dovecot.messageCount('locked')).toBe(0);
  });

  it('a lock folder that cannot be used: the mailbox is not polled without its lock (failed, exit 1)', async () => {
    await dovecot.seed('locked', SMALL);
    const notAFolder = path.join(buildDir, 'not-a-folder');
    await writeFile(notAFolder, '');
    const config = await configFor('locked', { password: PASSWORD });
    const run = await cli(['poll', '--config', config, '--out', path.join(buildDir, 'out-x')], notAFolder);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^mailbox-poller: locked: failed \(error\): cannot take the lock .*MAILBOX_POLLER_LOCK_DIR/m,
    );
    expect(await dovecot.messageCount('locked')).toBe(SMALL.length);
    await dovecot.clear('locked');
  });

  it('--wait-lock waits for the other run instead of leaving the mailbox', async () => {
    await dovecot.seed('locked', SMALL);
    const { lockMailbox } = await import('../../lib/cli/mailbox-lock.ts');
    const dir = path.join(buildDir, 'locks');
    const account = { id: 'locked', host: '127.0.0.1', port: dovecot.pop3Port, username: 'locked' };
    const held = await lockMailbox(dir, account, 0);
    if (!held.acquired) throw new Error('lock not acquired');
    const leftAlone = await poll('locked', {});
    expect(leftAlone.status).toBe(75);
    expect(leftAlone.stdout).toMatch(/^locked: retry-later \(locked\)/);
    expect(await dovecot.messageCount('locked')).toBe(SMALL.length);

    const waiting = poll('locked', {}, '--wait-lock', '30');
    setTimeout(() => void held.release(), 1000);
    const waited = await waiting;
    expect(waited.stderr).toBe('');
    expect(waited.status).toBe(0);
    expect(await dovecot.messageCount('locked')).toBe(0);
  });
});
