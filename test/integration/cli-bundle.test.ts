/**
 * The CLI as shipped: the bundle scripts/build.mjs builds, run in its own `node` process against the
 * in-memory maildrop and fauxqs (S3 + SQS).
 *
 * No failure reported as success: a wrong queue URL, a missing bucket or an `--out` that is a file exit 1
 * with the reason on stderr, identical errors grouped; stdout carries only the summary (only JSON with
 * --json); every name printed is readable. And `--dry-run` changes nothing and lists every message.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { startScriptServer } from '../support/script-server.ts';

const PASSWORD = 'correct-horse-battery';
const MESSAGES = Array.from({ length: 14 }, (_, i) =>
  Buffer.from(`From: a@example.com\r\nSubject: message ${i + 1}\r\n\r\nbody ${i + 1}\r\n`),
);
MESSAGES[1] = Buffer.from(
  'From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.com>\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\r\nx\r\n',
);

let buildDir: string;
let runner: string;
let aws: Fauxqs;
let server: MemoryPop3Server;
let configFile: string;

beforeAll(async () => {
  ({ dir: buildDir, runner } = await buildCliBundle('cli-bundle-'));
  aws = await startFauxqs();
}, 180_000);

afterAll(async () => {
  await aws?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  await server?.close();
});

async function maildrop(features: { expireZero?: boolean } = {}): Promise<void> {
  server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }],
    ...features,
  });
  configFile = path.join(buildDir, 'mailboxes.json');
  const mailbox = {
    id: 'support',
    host: server.host,
    port: server.port,
    tls: 'none',
    allowInsecureAuth: true,
    username: 'alice',
    password: PASSWORD,
  };
  await writeFile(configFile, JSON.stringify({ mailboxes: [mailbox] }));
}

/** The bundled CLI in a fresh `node`, with only the environment given (fauxqs endpoints, no real AWS). */
async function cli(args: string[]): Promise<CliRun> {
  return runBuiltCli(runner, ['poll', '--config', configFile, ...args], {
    cwd: buildDir,
    env: { ...aws.env, PATH: process.env.PATH ?? '' },
  });
}

/** stdout of a failed run: the one summary line and the destination, nothing else. */
function expectSummaryOnly(stdout: string, status: RegExp): void {
  const lines = stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(status);
  expect(lines[1]).toMatch(/^Destination: /);
}

/** Our own lines on stderr (the AWS SDK may add a warning of its own about the Node.js version). */
function ownLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('mailbox-poller: '));
}

/**
 * A one- or two-letter identifier as an error name ("Kn: …") or a reason ("failed (Kn)") is what a
 * minified class name looks like.
 */
function expectReadableNames(text: string): void {
  expect(text).not.toMatch(/(?:^|[\s(])[A-Za-z_$][A-Za-z0-9_$]?(?:: |\))/m);
}

describe('the bundled CLI does not report a failure as success', () => {
  it('a queue that does not exist: exit 1, retry-later (notify), grouped errors on stderr', {
    timeout: 60_000,
  }, async () => {
    await maildrop();
    const bucket = 'mail-wrong-queue';
    await aws.createBucket(bucket);
    const queueUrl = `${aws.endpoint}/000000000000/no-such-queue`;

    const { status, stdout, stderr } = await cli(['--bucket', bucket, '--queue-url', queueUrl]);

    expect(status, stderr).toBe(1);
    expectSummaryOnly(
      stdout,
      /^support: retry-later \(notify\) — 14 found, .* 0 notified, 0 deleted, .* 14 left/,
    );
    expect(stderr).toMatch(
      /^mailbox-poller: support: retry-later \(notify\): 3 notifications failed in a row/m,
    );
    expect(stderr).toMatch(
      /^mailbox-poller: support: \d+ × notify-failed: SendMessageBatch to .*QueueDoesNotExist/m,
    );
    // Grouped: each distinct error once, not once per message.
    expect(ownLines(stderr).length, stderr).toBeLessThanOrEqual(3);
    expectReadableNames(ownLines(stderr).join('\n'));
    expect(server.messages('alice')).toEqual(MESSAGES);
  });

  it('the same with --json: stdout is JSON only, stderr still says why', { timeout: 60_000 }, async () => {
    await maildrop();
    const bucket = 'mail-wrong-queue-json';
    await aws.createBucket(bucket);
    const queueUrl = `${aws.endpoint}/000000000000/no-such-queue`;

    const { status, stdout, stderr } = await cli(['--bucket', bucket, '--queue-url', queueUrl, '--json']);

    expect(status).toBe(1);
    const [outcome, ...others] = JSON.parse(stdout);
    expect(others).toEqual([]);
    expect(outcome).toMatchObject({
      status: 'retry-later',
      reason: 'notify',
      counts: { notified: 0, deleted: 0 },
    });
    expect(outcome.counts.uncommitted).toBeGreaterThan(0);
    expect(stderr).toMatch(/× notify-failed: .*QueueDoesNotExist/);
  });

  it('a bucket that does not exist: exit 1, retry-later (store), grouped', { timeout: 60_000 }, async () => {
    await maildrop();
    const queueUrl = await aws.createQueue('mail-missing-bucket');

    const { status, stdout, stderr } = await cli(['--bucket', 'no-such-bucket', '--queue-url', queueUrl]);

    expect(status, stderr).toBe(1);
    expectSummaryOnly(
      stdout,
      /^support: retry-later \(store\) — 14 found, .* 0 stored, 0 notified, 0 deleted/,
    );
    expect(stderr).toMatch(/^mailbox-poller: support: retry-later \(store\): 3 stores failed in a row/m);
    expect(stderr).toMatch(
      /^mailbox-poller: support: \d+ × store-failed: s3:\/\/no-such-bucket\/support\/uidl\/…: .*NoSuchBucket/m,
    );
    expect(ownLines(stderr), stderr).toHaveLength(2);
    expectReadableNames(ownLines(stderr).join('\n'));
    expect(await aws.receiveAll(queueUrl)).toEqual([]);
    expect(server.messages('alice')).toEqual(MESSAGES);
  });

  it('--out naming a file: exit 1, retry-later (store), nothing deleted', { timeout: 60_000 }, async () => {
    await maildrop();
    const file = path.join(buildDir, 'not-a-folder');
    await writeFile(file, 'a file, not a folder\n');

    const { status, stdout, stderr } = await cli(['--out', file]);

    expect(status, stderr).toBe(1);
    expectSummaryOnly(stdout, /^support: retry-later \(store\) — 14 found, .* 0 stored/);
    expect(stderr).toMatch(/^mailbox-poller: support: \d+ × store-failed: ENOTDIR: .*not-a-folder/m);
    expect(ownLines(stderr), stderr).toHaveLength(2);
    expectReadableNames(ownLines(stderr).join('\n'));
    expect(server.messages('alice')).toEqual(MESSAGES);
  });

  it('an unreachable server names its reason readably: retry-later (refused)', {
    timeout: 60_000,
  }, async () => {
    await maildrop();
    await server.close();

    const { status, stdout, stderr } = await cli(['--out', path.join(buildDir, 'out')]);

    expect(status).toBe(1);
    expectSummaryOnly(stdout, /^support: retry-later \(refused\) — /);
    expect(stderr).toMatch(/^mailbox-poller: support: retry-later \(refused\): .*127\.0\.0\.1/m);
    expectReadableNames(ownLines(stderr).join('\n'));
  });
});

describe('the bundled CLI names what went wrong readably', () => {
  it('a server that breaks the protocol: failed (protocol), not a shortened class name', {
    timeout: 60_000,
  }, async () => {
    await maildrop();
    // The same configuration, pointed at a server that answers the greeting with something that is not POP3.
    const broken = await startScriptServer([{ send: 'HELLO this is not POP3\r\n' }, { close: true }]);
    await writeFile(
      configFile,
      (await readFile(configFile, 'utf8')).replace(`"port":${server.port}`, `"port":${broken.port}`),
    );

    const { status, stdout, stderr } = await cli(['--out', path.join(buildDir, 'out')]);
    await broken.close();

    expect(status).toBe(1);
    expectSummaryOnly(stdout, /^support: failed \(protocol\) — /);
    expect(stderr).toMatch(/^mailbox-poller: support: failed \(protocol\): \S/m);
    expectReadableNames(ownLines(stderr).join('\n'));
  });
});

describe('the bundled CLI --dry-run', () => {
  it('on an EXPIRE 0 server: lists every message, sends no RETR, DELE or QUIT, writes nothing', {
    timeout: 60_000,
  }, async () => {
    await maildrop({ expireZero: true });
    const outDir = path.join(buildDir, 'dry-run-out');

    const { status, stdout, stderr } = await cli(['--out', outDir, '--dry-run']);

    expect(status, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^support: ok \(dry-run\) — 14 found, 0 retrieved .* 0 stored, 0 notified, 0 deleted/,
    );
    expect(lines[1]).toMatch(
      /^ {4}dry run: a real run would retrieve 14 of 14 messages; nothing was changed; closed without QUIT/,
    );
    expect(lines[2]).toMatch(
      /^ {4}1 {2}1\.\S+ {2}\d+ B {2}would retrieve {2}From: a@example\.com {2}Subject: message 1$/,
    );
    expect(lines[3]).toMatch(
      /^ {4}2 {2}2\.\S+ {2}\d+ B {2}would retrieve {2}From: Jürgen <j@example\.com> {2}Subject: Grüße$/,
    );
    expect(lines).toHaveLength(2 + 14 + 1);
    expect(server.commands().filter((line) => /^(RETR|DELE|QUIT)\b/.test(line))).toEqual([]);
    expect(server.messages('alice')).toEqual(MESSAGES);
    expect(existsSync(outDir)).toBe(false);
  });

  it('--json gives the same list as JSON, and nothing else on stdout', { timeout: 60_000 }, async () => {
    await maildrop({ expireZero: true });

    const { status, stdout } = await cli([
      '--out',
      path.join(buildDir, 'dry-run-out'),
      '--dry-run',
      '--json',
    ]);

    expect(status).toBe(0);
    const [outcome, ...others] = JSON.parse(stdout);
    expect(others).toEqual([]);
    expect(outcome).toMatchObject({ status: 'ok', reason: 'dry-run' });
    expect(outcome.counts).toMatchObject({ found: 14, stored: 0, notified: 0, deleted: 0, left: 14 });
    expect(outcome.dryRun).toEqual(
      MESSAGES.map((bytes, index) =>
        expect.objectContaining({ msg: index + 1, size: bytes.length, action: 'retrieve' }),
      ),
    );
    expect(outcome.dryRun[1]).toMatchObject({ from: 'Jürgen <j@example.com>', subject: 'Grüße' });
    expect(server.messages('alice')).toEqual(MESSAGES);
  });
});
