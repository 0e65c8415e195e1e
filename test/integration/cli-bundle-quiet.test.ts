/**
 * A successful S3 + SQS run of the shipped CLI bundle prints nothing on stderr: no runtime warning of its
 * own making. 200 messages keep many uploads and notification batches in flight under one deadline, each
 * holding an abort listener on the deadline's signal; Node's default of 10 made every such run print
 * `MaxListenersExceededWarning` (see DEADLINE_SIGNAL_MAX_LISTENERS in lib/deadline.ts).
 *
 * And a reader that stops early (`| head -2`) ends our output, not the run: no unhandled EPIPE.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const MESSAGES = Array.from({ length: 200 }, (_, i) =>
  Buffer.from(`From: a@example.com\r\nSubject: message ${i + 1}\r\n\r\n${'body line\r\n'.repeat(2_000)}`),
);

const SDK_NOTE_OFF = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

let buildDir: string;
let runner: string;
let aws: Fauxqs;
let server: MemoryPop3Server;

beforeAll(async () => {
  ({ dir: buildDir, runner } = await buildCliBundle('cli-bundle-quiet-'));
  aws = await startFauxqs();
  server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'pw', messages: MESSAGES }] });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await aws?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

it('a 200-message S3 + SQS run exits 0 with nothing on stderr', { timeout: 120_000 }, async () => {
  const configFile = path.join(buildDir, 'mailboxes.json');
  const mailbox = {
    id: 'support',
    host: server.host,
    port: server.port,
    tls: 'none',
    allowInsecureAuth: true,
  };
  await writeFile(
    configFile,
    JSON.stringify({ mailboxes: [{ ...mailbox, username: 'alice', password: 'pw' }] }),
  );
  await aws.createBucket('quiet-mail');
  const queueUrl = await aws.createQueue('quiet-events');

  const run = await runBuiltCli(
    runner,
    ['poll', '--config', configFile, '--bucket', 'quiet-mail', '--queue-url', queueUrl],
    {
      cwd: buildDir,
      // bin/mailbox-poller.js sets this too: the SDK's own note about future Node.js releases is not ours.
      env: {
        ...aws.env,
        PATH: process.env.PATH ?? '',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    },
  );

  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/200 stored, 200 notified, 200 deleted/);
  expect(server.messages('alice')).toHaveLength(0);
});

it('poll --dry-run | head -2: two lines, then the run ends with its own status and no EPIPE', {
  timeout: 120_000,
}, async () => {
  const many = await startMemoryPop3Server({
    users: [
      { name: 'bob', password: 'pw', messages: Array.from({ length: 3_000 }, (_, i) => MESSAGES[i % 200]!) },
    ],
  });
  try {
    const configFile = path.join(buildDir, 'many.json');
    const mailbox = { id: 'many', host: many.host, port: many.port, tls: 'none', allowInsecureAuth: true };
    await writeFile(
      configFile,
      JSON.stringify({ mailboxes: [{ ...mailbox, username: 'bob', password: 'pw' }] }),
    );
    const outDir = path.join(buildDir, 'dry-out');
    // The dry run's listing (~200 KiB) is more than a pipe holds, so it is still being written when head exits.
    const script = `node "$1" poll --config "$2" --out "$3" --dry-run 2>"$4" | head -2; echo "exit=\${PIPESTATUS[0]}"`;
    const stderrFile = path.join(buildDir, 'dry.stderr');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', script, 'bash', runner, configFile, outDir, stderrFile],
        { env: { PATH: process.env.PATH ?? '', ...SDK_NOTE_OFF } },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^many: ok \(dry-run\)/);
    expect(lines[2]).toBe('exit=0');
    expect(await readFile(stderrFile, 'utf8')).toBe('');
    expect(many.messages('bob')).toHaveLength(3_000);
  } finally {
    await many.close();
  }
});
