/**
 * The CLI as shipped (the bundle scripts/build.mjs builds, each run in its own `node` started with umask
 * 022, as cron and systemd start it) on a machine other users share. These tests run as root, so they can
 * make what another local user could: a lock planted under another uid, a symbolic link to /dev/zero, a
 * FIFO, a lock folder everyone may write. None of them may stop a mailbox silently (exit 75) or hang or
 * crash the run: each is refused with a message that names the file and what to do (exit 1). And what a
 * run writes under --out is for its user only: files 0600, folders 0700.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockPath } from '../../lib/cli/mailbox-lock.ts';
import { type BuiltCli, buildCliBundle, type CliRun } from '../support/cli-bundle.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const exec = promisify(execFile);
const PASSWORD = 'shared-host';
const NOBODY = 65534;
/** Handing a file to another user (chown) takes root, as planting one in a private folder does. */
const ROOT = process.getuid?.() === 0;
const BOOT_ID = '/proc/sys/kernel/random/boot_id';
const USERS = [
  'planted',
  'zero',
  'fifo',
  'open',
  'linked',
  'foreign',
  'long',
  'stale',
  'reboot',
  'plain',
  'kept',
];
const message = (n: number) => Buffer.from(`Subject: shared host ${n}\r\n\r\nbody ${n}\r\n`);

let built: BuiltCli;
let server: MemoryPop3Server;

beforeAll(async () => {
  [built, server] = await Promise.all([
    buildCliBundle('cli-shared-host-'),
    startMemoryPop3Server({
      users: USERS.map((name) => ({ name, password: PASSWORD, messages: [message(1), message(2)] })),
    }),
  ]);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await built?.remove();
});

const account = (user: string) => ({ id: user, host: server.host, port: server.port, username: user });

async function configFor(users: readonly string[], extra: object = {}): Promise<string> {
  const file = path.join(built.dir, `${users.join('-')}.json`);
  const mailboxes = users.map((user) => ({
    ...account(user),
    tls: 'none',
    allowInsecureAuth: true,
    password: PASSWORD,
    ...(user === 'kept' ? { keep: true } : {}),
    ...extra,
  }));
  await writeFile(file, JSON.stringify({ mailboxes }));
  return file;
}

/** A run of the bundle under umask 022, killed after 30 s: a hang must fail the test, not stall it. */
async function poll(user: string | string[], env: NodeJS.ProcessEnv): Promise<CliRun & { ms: number }> {
  const users = Array.isArray(user) ? user : [user];
  const args = ['poll', '--config', await configFor(users), '--out', path.join(built.dir, 'out', users[0]!)];
  const startedAt = Date.now();
  const shell = [
    '-c',
    'umask 022 && exec "$@"',
    'sh',
    process.execPath,
    built.runner,
    ...args,
    '--timeout',
    '10',
  ];
  try {
    const { stdout, stderr } = await exec('/bin/sh', shell, {
      env: { PATH: process.env.PATH, ...env },
      timeout: 30_000,
      killSignal: 'SIGKILL',
    });
    return { status: 0, stdout, stderr, ms: Date.now() - startedAt };
  } catch (error) {
    const failed = error as { code?: unknown; signal?: unknown; stdout?: string; stderr?: string };
    const status = typeof failed.code === 'number' ? failed.code : -1;
    return {
      status,
      stdout: failed.stdout ?? '',
      stderr: `${failed.stderr ?? ''}${failed.signal ? `(killed: ${String(failed.signal)})` : ''}`,
      ms: Date.now() - startedAt,
    };
  }
}

/** A private lock folder of this user (the test runs as root), as the CLI would create it. */
async function lockFolder(name: string): Promise<string> {
  const dir = path.join(built.dir, 'locks', name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(path.dirname(dir), 0o700);
  return dir;
}

function holder(user: string, pid: number, startedAt: Date): string {
  return JSON.stringify({
    pid,
    hostname: os.hostname(),
    startedAt: startedAt.toISOString(),
    mailboxId: user,
  });
}

describe('the lock folder and lock files on a shared machine', () => {
  it.runIf(ROOT)(
    'a lock planted by another user does not hold the mailbox back: exit 1 naming the file',
    async () => {
      const dir = await lockFolder('planted');
      const file = lockPath(dir, account('planted'));
      // pid: this test's own process, alive: the old CLI took the lock as held (exit 75, every run).
      await writeFile(file, holder('planted', process.pid, new Date()));
      await chown(file, NOBODY, NOBODY);
      const run = await poll('planted', { MAILBOX_POLLER_LOCK_DIR: dir });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toContain(
        `the lock file ${file} belongs to uid ${NOBODY}, not to this user (uid 0)`,
      );
      expect(server.messages('planted')).toHaveLength(2);
    },
  );

  it('a symbolic link to /dev/zero is not followed: no endless read, exit 1 at once', async () => {
    const dir = await lockFolder('zero');
    const file = lockPath(dir, account('zero'));
    await symlink('/dev/zero', file);
    const run = await poll('zero', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`the lock file ${file} is a symbolic link`);
    expect(run.ms).toBeLessThan(10_000);
    expect(server.messages('zero')).toHaveLength(2);
  });

  it('a FIFO as lock file does not hang the run: exit 1 within --timeout', async () => {
    const dir = await lockFolder('fifo');
    const file = lockPath(dir, account('fifo'));
    await exec('mkfifo', [file]);
    const run = await poll('fifo', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`the lock file ${file} is not a regular file (a FIFO)`);
    expect(run.ms).toBeLessThan(10_000);
    expect(server.messages('fifo')).toHaveLength(2);
  });

  /** Polls `user` with the lock folder `dir` made by `prepare`: refused, exit 1, nothing taken. */
  async function expectFolderRefused(user: string, prepare: (dir: string) => Promise<void>, problem: RegExp) {
    const dir = path.join(built.dir, 'locks', user);
    await prepare(dir);
    const run = await poll(user, { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(
      `${user}: failed (error): cannot take the lock for this mailbox: the lock folder ${dir} `,
    );
    expect(run.stderr).toMatch(problem);
    expect(server.messages(user)).toHaveLength(2);
  }

  it('a lock folder every user may write is refused: exit 1, mailbox not polled', async () => {
    await expectFolderRefused(
      'open',
      async (dir) => {
        await mkdir(dir, { recursive: true });
        await chmod(dir, 0o1777);
      },
      /can be written by other users \(mode 1777\), who could plant locks in it: chmod 0700/,
    );
  });

  it('a lock folder that is a symbolic link is refused: exit 1, mailbox not polled', async () => {
    const real = await lockFolder('linked-real');
    await expectFolderRefused(
      'linked',
      (dir) => symlink(real, dir),
      /is a symbolic link; .*set MAILBOX_POLLER_LOCK_DIR to the real folder/,
    );
  });

  it.runIf(ROOT)("another user's lock folder is refused: exit 1, mailbox not polled", async () => {
    await expectFolderRefused(
      'foreign',
      async (dir) => {
        await mkdir(dir, { recursive: true });
        await chown(dir, NOBODY, NOBODY);
      },
      /belongs to uid 65534, not to this user \(uid 0\)/,
    );
  });

  it('a lock held longer than any run takes fails the run (exit 1); a recent one is an overlap (exit 75)', async () => {
    const dir = await lockFolder('long');
    const file = lockPath(dir, account('long'));
    await writeFile(file, holder('long', process.pid, new Date()));
    const overlap = await poll('long', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(overlap.status, overlap.stderr).toBe(75);

    // Two hours: twice the limit (LOCK_HELD_TOO_LONG_MS), 24 runs of the unit's timer.
    const since = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await writeFile(file, holder('long', process.pid, since));
    const stuck = await poll('long', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(stuck.status, stuck.stderr).toBe(1);
    expect(stuck.stderr).toContain(
      `the lock ${file} has been held by pid ${process.pid} on ${os.hostname()} since ${since.toISOString()} (120 minutes)`,
    );
    expect(server.messages('long')).toHaveLength(2);
  });

  it('a stale lock (its process gone) is still taken over', async () => {
    const dir = await lockFolder('stale');
    // Above Linux's default pid_max (2^22): no process has it.
    await writeFile(lockPath(dir, account('stale')), holder('stale', 4_194_305, new Date()));
    const run = await poll('stale', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(server.messages('stale')).toHaveLength(0);
  });
});

describe.runIf(existsSync(BOOT_ID))('a lock left by a run before the machine restarted', () => {
  it('is taken over even though its pid now belongs to a live process', async () => {
    const dir = await lockFolder('reboot');
    const bootId = (await readFile(BOOT_ID, 'utf8')).trim();
    const earlierBoot = `${bootId.slice(0, -1)}${bootId.endsWith('0') ? '1' : '0'}`;
    const lock = { ...JSON.parse(holder('reboot', process.pid, new Date())), bootId: earlierBoot };
    await writeFile(lockPath(dir, account('reboot')), JSON.stringify(lock));
    const run = await poll('reboot', { MAILBOX_POLLER_LOCK_DIR: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(server.messages('reboot')).toHaveLength(0);
  });
});

describe('what a run writes is for its user only', () => {
  it('under umask 022: messages, notifications and state 0600, every folder it creates 0700', async () => {
    const home = path.join(built.dir, 'home');
    await mkdir(home, { mode: 0o755 });
    const run = await poll(['plain', 'kept'], { HOME: home });
    expect(run.status, run.stderr).toBe(0);

    const out = path.join(built.dir, 'out', 'plain');
    const entries = await readdir(out, { recursive: true, withFileTypes: true });
    const modes = new Map<string, number>([['.', (await stat(out)).mode & 0o7777]]);
    for (const entry of entries) {
      const full = path.join(entry.parentPath, entry.name);
      modes.set(path.relative(out, full), (await lstat(full)).mode & 0o7777);
    }
    const files = [...modes].filter(([name]) => /\.(eml|jsonl|gz|json)$/.test(name));
    expect(files.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'notifications.jsonl',
        path.join('.state', 'kept.jsonl.gz'),
        path.join('.health', 'kept.json'),
      ]),
    );
    expect(files.filter(([name]) => name.endsWith('.eml'))).toHaveLength(4);
    for (const [name, mode] of modes) {
      expect([name, mode.toString(8)]).toEqual([name, files.some(([f]) => f === name) ? '600' : '700']);
    }

    // The default lock folder: the user's state folder, every part of it this run created 0700.
    for (const part of [
      '.local',
      '.local/state',
      '.local/state/mailbox-poller',
      '.local/state/mailbox-poller/locks',
    ]) {
      expect([part, ((await stat(path.join(home, part))).mode & 0o7777).toString(8)]).toEqual([part, '700']);
    }
    await rm(home, { recursive: true, force: true });
  });
});
