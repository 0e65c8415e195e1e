/**
 * The CLI as a person uses it: `main(argv, io)` in-process with captured output, against the in-memory
 * POP3 maildrop and the local default destination (files + notifications.jsonl). Once through the real
 * `bin/mailbox-poller.js` as well.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../lib/cli/io.ts';
import { main } from '../../lib/cli/main.ts';
import { loadConfigFile } from '../../lib/config/load-config.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { findFreePort } from '../support/ports.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const PASSWORD = 'correct-horse-battery';
const MESSAGES = [
  Buffer.from('From: a@example.com\r\nSubject: first\r\n\r\nhello\r\n'),
  Buffer.from('From: b@example.com\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\n.\r\n..dots\r\n'),
  Buffer.concat([Buffer.from('Subject: binary\r\n\r\n'), Buffer.from([0xff, 0x00, 0xe9, 0x0d, 0x0a])]),
];

interface CapturedRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

let workDir: string;
let server: MemoryPop3Server | undefined;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'cli-test-'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(workDir, { recursive: true, force: true });
});

/** Runs the CLI with captured output and only the environment given (none of the test process's). */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CapturedRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: { write: (text) => stdout.push(text) },
    stderr: { write: (text) => stderr.push(text) },
    env,
  };
  const status = await main(argv, io);
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

async function writeConfig(document: unknown): Promise<string> {
  const file = path.join(workDir, 'mailboxes.json');
  await writeFile(file, typeof document === 'string' ? document : JSON.stringify(document, null, 2));
  return file;
}

async function startMaildrop(): Promise<MemoryPop3Server> {
  server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }],
  });
  return server;
}

function supportMailbox(host: string, port: number, password: unknown = PASSWORD) {
  return { id: 'support', host, port, tls: 'none', allowInsecureAuth: true, username: 'alice', password };
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('mailbox-poller usage', () => {
  it('--help prints the commands and exits 0; poll --help the options of poll', async () => {
    const { status, stdout, stderr } = await cli(['--help']);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^Usage: mailbox-poller COMMAND/);
    expect((await cli(['poll', '--help'])).stdout).toMatch(/^Usage: mailbox-poller poll --config FILE/);
    expect(stderr).toBe('');
  });

  it.each([
    ['no command', [], /missing command \(poll, check/],
    ['an unknown command', ['fetch', '--config', 'x.json'], /unknown command: fetch/],
    [
      'an unknown flag',
      ['poll', '--config', 'x.json', '--frobnicate'],
      /^mailbox-poller: unknown option --frobnicate$/m,
    ],
    [
      'a misspelt flag',
      ['poll', '--config', 'x.json', '--concurency', '2'],
      /^did you mean --concurrency\?$/m,
    ],
    [
      '--wait-lock that is not a number',
      ['poll', '--config', 'x.json', '--wait-lock', 'soon'],
      /--wait-lock needs/,
    ],
    ['no --config', ['poll'], /--config FILE is required/],
    ['--bucket without --queue-url', ['poll', '--config', 'x.json', '--bucket', 'mail'], /go together/],
    ['a --concurrency of 0', ['poll', '--config', 'x.json', '--concurrency', '0'], /--concurrency needs/],
  ])('%s exits 2 with the reason and where the help is', async (_what, argv, reason) => {
    const { status, stdout, stderr } = await cli(argv);
    expect(status).toBe(2);
    expect(stderr).toMatch(reason);
    expect(stderr).toMatch(/^See 'mailbox-poller (poll )?--help'\.$/m);
    expect(stderr).not.toContain('Usage:');
    expect(stdout).toBe('');
  });

  it('BUCKET_NAME in the environment without QUEUE_URL is the same usage error', async () => {
    const { status, stderr } = await cli(['poll', '--config', 'x.json'], { BUCKET_NAME: 'mail' });
    expect(status).toBe(2);
    expect(stderr).toMatch(/--bucket and --queue-url go together/);
  });
});

describe('mailbox-poller configuration errors', () => {
  it('malformed JSON exits 2 naming the file, line and column', async () => {
    const file = await writeConfig('{\n  "mailboxes": [\n    { "id": "support", }\n  ]\n}\n');
    const { status, stderr } = await cli(['poll', '--config', file]);
    expect(status).toBe(2);
    expect(stderr).toContain(`${file}:3:`);
  });

  it('schema violations exit 2 with one line per field, never repeating a password', async () => {
    const mailbox = {
      ...supportMailbox('127.0.0.1', 110, ['hunter2-in-a-list']),
      tls: 'tcp',
      colour: 'blue',
    };
    const file = await writeConfig({ mailboxes: [mailbox] });
    const { status, stdout, stderr } = await cli(['poll', '--config', file]);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`invalid configuration in ${file}`);
    expect(stderr).toMatch(/^ {2}mailboxes\[0\]\.tls: must be one of "implicit", "starttls", "none"$/m);
    expect(stderr).toMatch(/^ {2}mailboxes\[0\]\.colour: is not a known property/m);
    expect(stderr).toMatch(/^ {2}mailboxes\[0\]\.password: /m);
    expect(stderr).not.toContain('hunter2');
  });

  it('a password variable set but empty exits 2 naming the mailbox and the variable, before connecting', async () => {
    const maildrop = await startMaildrop();
    const file = await writeConfig({
      mailboxes: [supportMailbox(maildrop.host, maildrop.port, { env: 'SUPPORT_PASSWORD' })],
    });
    const { status, stdout, stderr } = await cli(
      ['poll', '--config', file, '--out', path.join(workDir, 'out')],
      {
        SUPPORT_PASSWORD: '',
      },
    );
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /mailbox "support": .*environment variable SUPPORT_PASSWORD, which is set but empty/,
    );
    expect(maildrop.commands()).toEqual([]);
  });

  it('a missing config file exits 2 naming it', async () => {
    const missing = path.join(workDir, 'nowhere.json');
    const { status, stderr } = await cli(['poll', '--config', missing]);
    expect(status).toBe(2);
    expect(stderr).toContain(missing);
  });

  it('every file in examples/ is a valid configuration', async () => {
    const folder = path.join(ROOT, 'examples');
    const examples = (await readdir(folder)).filter((name) => name.endsWith('.json'));
    expect(examples.length).toBeGreaterThan(0);
    for (const name of examples) {
      const config = await loadConfigFile(path.join(folder, name));
      expect(config.mailboxes.length, name).toBeGreaterThan(0);
    }
  });
});

describe('mailbox-poller poll, local default destination', () => {
  it('stores every message byte-for-byte, writes one notification each, and empties the mailbox', async () => {
    const maildrop = await startMaildrop();
    const file = await writeConfig({ mailboxes: [supportMailbox(maildrop.host, maildrop.port)] });
    const outDir = path.join(workDir, 'out');

    const { status, stdout, stderr } = await cli(['poll', '--config', file, '--out', outDir]);

    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/^support: ok — 3 found, 3 retrieved .* 3 stored, 3 notified, 3 deleted/m);
    const objects = (await filesUnder(outDir)).filter((name) => name.endsWith('.eml'));
    const stored = await Promise.all(objects.map((name) => readFile(name)));
    expect(stored.map((bytes) => bytes.toString('latin1')).sort()).toEqual(
      MESSAGES.map((bytes) => bytes.toString('latin1')).sort(),
    );
    const lines = (await readFile(path.join(outDir, 'notifications.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(MESSAGES.length);
    const keys = lines.map((line) => JSON.parse(line).receipt.action.objectKey as string);
    expect(keys.map((key) => path.join(outDir, key)).sort()).toEqual([...objects].sort());
    expect(maildrop.messages('alice')).toEqual([]);
  });

  it.each([
    ['without UIDL (keys by content hash)', { uidl: false }, /^support\/sha256\//],
    ['without PIPELINING', { pipelining: false }, /^support\/uidl\//],
    ['with EXPIRE 0', { expireZero: true }, /^support\/uidl\//],
  ])('drains a server %s just the same', async (_what, features, keyShape) => {
    server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }],
      ...features,
    });
    const file = await writeConfig({ mailboxes: [supportMailbox(server.host, server.port)] });
    const outDir = path.join(workDir, 'out');

    const { status, stderr } = await cli(['poll', '--config', file, '--out', outDir]);

    expect(status, stderr).toBe(0);
    const lines = (await readFile(path.join(outDir, 'notifications.jsonl'), 'utf8')).trimEnd().split('\n');
    const keys = lines.map((line) => JSON.parse(line).receipt.action.objectKey as string);
    for (const key of keys) expect(key).toMatch(keyShape);
    const stored = await Promise.all(keys.map((key) => readFile(path.join(outDir, key), 'latin1')));
    expect(stored.sort()).toEqual(MESSAGES.map((bytes) => bytes.toString('latin1')).sort());
    expect(server.messages('alice')).toEqual([]);
  });

  it('reads the password from the environment it is given', async () => {
    const maildrop = await startMaildrop();
    const file = await writeConfig({
      mailboxes: [supportMailbox(maildrop.host, maildrop.port, { env: 'SUPPORT_PASSWORD' })],
    });
    const outDir = path.join(workDir, 'out');
    const { status } = await cli(['poll', '--config', file, '--out', outDir], { SUPPORT_PASSWORD: PASSWORD });
    expect(status).toBe(0);
    expect(maildrop.messages('alice')).toEqual([]);
  });

  it('--json prints the per-mailbox results as JSON with counts', async () => {
    const maildrop = await startMaildrop();
    const file = await writeConfig({ mailboxes: [supportMailbox(maildrop.host, maildrop.port)] });
    const { status, stdout } = await cli([
      'poll',
      '--config',
      file,
      '--out',
      path.join(workDir, 'out'),
      '--json',
    ]);
    expect(status).toBe(0);
    const [outcome, ...others] = JSON.parse(stdout);
    expect(others).toEqual([]);
    expect(outcome).toMatchObject({
      mailboxId: 'support',
      status: 'ok',
      counts: { found: 3, retrieved: 3, stored: 3, notified: 3, deleted: 3, skipped: 0, left: 0 },
    });
  });

  it('a wrong password exits 1, says the credentials were refused, and prints no password', async () => {
    const maildrop = await startMaildrop();
    const file = await writeConfig({
      mailboxes: [supportMailbox(maildrop.host, maildrop.port, 'wrong-password-xyzzy')],
    });
    const { status, stdout, stderr } = await cli([
      'poll',
      '--config',
      file,
      '--out',
      path.join(workDir, 'out'),
    ]);
    expect(status).toBe(1);
    expect(stdout).toMatch(/^support: auth-failed/m);
    expect(`${stdout}${stderr}`).not.toContain('wrong-password-xyzzy');
    expect(`${stdout}${stderr}`).not.toContain(PASSWORD);
    expect(maildrop.messages('alice')).toEqual(MESSAGES);
  });

  it('an unreachable server exits 1 with a message naming the mailbox and the address', async () => {
    const closedPort = await findFreePort();
    const file = await writeConfig({ mailboxes: [supportMailbox('127.0.0.1', closedPort)] });
    const { status, stdout, stderr } = await cli([
      'poll',
      '--config',
      file,
      '--out',
      path.join(workDir, 'out'),
    ]);
    expect(status).toBe(1);
    expect(stdout).toMatch(/^support: retry-later \(refused\) — /m);
    expect(stdout).not.toContain(`127.0.0.1:${closedPort}`);
    expect(stderr).toMatch(/^mailbox-poller: support: retry-later \(refused\): /m);
    expect(stderr).toContain(`127.0.0.1:${closedPort}`);
  });

  it('one failing mailbox does not stop the others, and the run exits 1', async () => {
    const maildrop = await startMaildrop();
    const closedPort = await findFreePort();
    const file = await writeConfig({
      mailboxes: [
        { ...supportMailbox('127.0.0.1', closedPort), id: 'broken' },
        supportMailbox(maildrop.host, maildrop.port),
      ],
    });
    const { status, stdout } = await cli([
      'poll',
      '--config',
      file,
      '--out',
      path.join(workDir, 'out'),
      '--json',
    ]);
    expect(status).toBe(1);
    expect(JSON.parse(stdout).map((outcome: { status: string }) => outcome.status)).toEqual([
      'retry-later',
      'ok',
    ]);
    expect(maildrop.messages('alice')).toEqual([]);
  });
});

describe('bin/mailbox-poller.js', () => {
  it('runs the bundled CLI: --help exits 0', { timeout: 120_000 }, async () => {
    await run('npm', ['run', 'build', '--', '--no-measure'], { cwd: ROOT });
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin', 'mailbox-poller.js'), '--help'], {
      cwd: workDir,
    });
    expect(stdout).toMatch(/^Usage: mailbox-poller COMMAND/);
  });
});
