/**
 * `mailbox-poller replay` as shipped (the CLI bundle scripts/build.mjs builds, in its own `node`), on
 * real components: the corpus seeded into Dovecot in two waves, each polled by the bundle into S3 + a
 * FIFO queue (fauxqs). Replaying the whole range to a second FIFO queue gives every original body byte
 * for byte, with the same deduplication id, group and attributes; `--since`/`--until` at the moment
 * between the waves pick exactly one wave each; `--dry-run` sends nothing and counts; a run stopped by
 * `--max` or Ctrl-C goes on with the printed `--start-after` to exactly the rest, nothing twice.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type BuiltCli, buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';

const PASSWORD = 'replay-corpus-password';
const BUCKET = 'mail';
const KEY_PREFIX = 'in/';

describeWithCorpus('replay through the built CLI, corpus through Dovecot', () => {
  let cli: BuiltCli;
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let configFile: string;
  let originals: Map<string, Message>;
  let firstWave: string[];
  let secondWave: string[];
  let between: string;

  const env = () => ({
    ...aws.env,
    PATH: process.env.PATH ?? '',
    MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks'),
  });
  const run = (args: string[]) => runBuiltCli(cli.runner, args, { cwd: cli.dir, env: env() });
  const poll = (queueUrl: string) =>
    run([
      'poll',
      '--config',
      configFile,
      '--bucket',
      BUCKET,
      '--key-prefix',
      KEY_PREFIX,
      '--queue-url',
      queueUrl,
    ]);
  const replay = (...args: string[]) =>
    run(['replay', '--bucket', BUCKET, '--key-prefix', KEY_PREFIX, '--rate', '1000', ...args]);
  const keysOf = (messages: Message[]) => messages.map((message) => objectKeyOf(message)).sort();

  beforeAll(async () => {
    [cli, dovecot, aws] = await Promise.all([
      buildCliBundle('replay-cli-'),
      startDovecot({ users: [{ name: 'alice', password: PASSWORD }] }),
      startFauxqs(),
    ]);
    await aws.createBucket(BUCKET);
    configFile = path.join(cli.dir, 'mailboxes.json');
    const mailbox = { host: '127.0.0.1', port: dovecot.pop3Port, tls: 'none', allowInsecureAuth: true };
    const settings = { username: 'alice', password: PASSWORD, trustedAuthservId: ['mx.google.com'] };
    await writeFile(configFile, JSON.stringify({ mailboxes: [{ id: 'corpus', ...mailbox, ...settings }] }));

    const corpus = loadCorpus().map((message) => toCrlf(message.bytes));
    const half = Math.floor(corpus.length / 2);
    const queue = await aws.createQueue('originals', { fifo: true });
    await dovecot.seed('alice', corpus.slice(0, half));
    expect((await poll(queue)).status).toBe(0);
    const first = await aws.receiveAll(queue);
    firstWave = keysOf(first);
    await new Promise((resolve) => setTimeout(resolve, 20));
    between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await dovecot.seed('alice', corpus.slice(half));
    expect((await poll(queue)).status).toBe(0);
    const second = await aws.receiveAll(queue);
    secondWave = keysOf(second);
    expect(firstWave.length + secondWave.length).toBe(corpus.length);
    originals = new Map([...first, ...second].map((message) => [objectKeyOf(message), message]));
  }, 300_000);

  afterAll(async () => {
    await Promise.all([dovecot?.stop(), aws?.stop()]);
    await cli?.remove();
  });

  test('the whole range: every original body byte for byte, same deduplication id, group and attributes', {
    timeout: 120_000,
  }, async () => {
    const fifo = await aws.createQueue('replayed', { fifo: true });
    const result = await replay('--queue-url', fifo);
    expect(result.stderr).toContain(`replay: ${originals.size} object(s) to examine`);
    expect(result).toMatchObject({ status: 0 });
    const replayed = await aws.receiveAll(fifo);
    expect(keysOf(replayed)).toEqual([...originals.keys()].sort());
    for (const message of replayed) {
      const original = originals.get(objectKeyOf(message))!;
      expect(message.Body).toBe(original.Body);
      expect(message.MD5OfBody).toBe(original.MD5OfBody);
      expect(message.Attributes?.MessageDeduplicationId).toBe(original.Attributes?.MessageDeduplicationId);
      expect(message.Attributes?.MessageGroupId).toBe(original.Attributes?.MessageGroupId);
      expect(message.MessageAttributes).toEqual(original.MessageAttributes);
    }
  });

  test('--event-bus: each original body put as the detail of one "Email Received" event', {
    timeout: 120_000,
  }, async () => {
    const bus = await startEventBridgeEndpoint();
    try {
      const result = await runBuiltCli(
        cli.runner,
        [
          'replay',
          '--bucket',
          BUCKET,
          '--key-prefix',
          KEY_PREFIX,
          '--rate',
          '1000',
          '--event-bus',
          'mail-events',
        ],
        { cwd: cli.dir, env: { ...env(), AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint } },
      );
      expect(result).toMatchObject({ status: 0 });
      expect(result.stdout).toContain(`${originals.size} notification(s) sent to mail-events`);
      const details = bus.events.map((event) => event.detail);
      expect(details.length).toBe(originals.size);
      expect(
        new Set(bus.events.map((event) => `${event.eventBusName} ${event.source} ${event.detailType}`)),
      ).toEqual(new Set(['mail-events mailbox-poller Email Received']));
      expect(details.sort()).toEqual([...originals.values()].map((message) => message.Body).sort());
    } finally {
      await bus.close();
    }
  });

  test('--since and --until at the moment between the waves pick exactly one wave each', {
    timeout: 120_000,
  }, async () => {
    const queue = await aws.createQueue('ranges');
    const before = await replay('--queue-url', queue, '--until', between);
    expect(before.status).toBe(0);
    expect(keysOf(await aws.receiveAll(queue))).toEqual(firstWave);
    const after = await replay('--queue-url', queue, '--since', between, '--prefix', 'corpus/');
    expect(after.status).toBe(0);
    expect(keysOf(await aws.receiveAll(queue))).toEqual(secondWave);
    const none = await replay('--queue-url', queue, '--prefix', 'someone-else/');
    expect(none.stdout).toMatch(/^replay: 0 notification\(s\)/);
    expect(await aws.receiveAll(queue)).toEqual([]);
  });

  test('--dry-run sends nothing and counts what would be sent', { timeout: 60_000 }, async () => {
    const queue = await aws.createQueue('dry');
    const result = await replay('--queue-url', queue, '--until', between, '--dry-run');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`replay: ${firstWave.length} notification(s) would send`);
    expect(await aws.receiveAll(queue)).toEqual([]);
  });

  test('stopped by --max, then from the printed --start-after: exactly the rest, nothing twice', {
    timeout: 120_000,
  }, async () => {
    const queue = await aws.createQueue('resumed');
    const first = await replay('--queue-url', queue, '--max', '25');
    expect(first.status).toBe(0);
    const startAfter = startAfterOf(first);
    const rest = await replay('--queue-url', queue, '--start-after', startAfter);
    expect(rest.status).toBe(0);
    const keys = keysOf(await aws.receiveAll(queue));
    expect(keys).toEqual([...firstWave, ...secondWave].sort());
    expect(keys.filter((key) => key <= startAfter)).toHaveLength(25);
  });

  test('--timeout stops it (exit 75) with the --start-after that goes on with exactly the rest', {
    timeout: 120_000,
  }, async () => {
    const queue = await aws.createQueue('deadline');
    const stopped = await replay('--queue-url', queue, '--rate', '30', '--timeout', '2');
    expect(stopped.status).toBe(75);
    const startAfter = startAfterOf(stopped);
    const sentBefore = keysOf(await aws.receiveAll(queue));
    expect(sentBefore.length).toBeGreaterThan(0);
    expect(sentBefore.every((key) => key <= startAfter)).toBe(true);
    expect((await replay('--queue-url', queue, '--start-after', startAfter)).status).toBe(0);
    const all = [...sentBefore, ...keysOf(await aws.receiveAll(queue))].sort();
    expect(all).toEqual([...firstWave, ...secondWave].sort());
  });

  test('Ctrl-C stops it (exit 130) with the --start-after that goes on with exactly the rest', {
    timeout: 120_000,
  }, async () => {
    const queue = await aws.createQueue('interrupted');
    const args = [
      'replay',
      '--bucket',
      BUCKET,
      '--key-prefix',
      KEY_PREFIX,
      '--queue-url',
      queue,
      '--rate',
      '40',
    ];
    const stopped = await interruptedRun(args, 2500);
    expect(stopped.status).toBe(130);
    const startAfter = startAfterOf(stopped);
    const sentBefore = keysOf(await aws.receiveAll(queue));
    expect(sentBefore.length).toBeGreaterThan(0);
    expect(sentBefore.every((key) => key <= startAfter)).toBe(true);
    expect((await replay('--queue-url', queue, '--start-after', startAfter)).status).toBe(0);
    const all = [...sentBefore, ...keysOf(await aws.receiveAll(queue))].sort();
    expect(all).toEqual([...firstWave, ...secondWave].sort());
  });

  test('replay --help, and a usage mistake in one line with where the help is', async () => {
    const help = await run(['replay', '--help']);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(
      /^Usage: mailbox-poller replay --bucket NAME \(--queue-url URL \| --event-bus BUS\)/,
    );
    expect((await run(['--help'])).stdout).toMatch(/^ {2}replay +\S/m);
    for (const [args, problem] of [
      [['--queue-url', 'q', '--since', 'yesterday'], /^mailbox-poller: --since needs an ISO 8601 date/],
      [[], /^mailbox-poller: --queue-url URL or --event-bus BUS is required \(or --dry-run\)$/],
      [
        ['--queue-url', 'q', '--max', '0'],
        /^mailbox-poller: --max needs a whole number of at least 1, not "0"$/,
      ],
    ] as const) {
      const result = await replay(...args);
      expect(result.status).toBe(2);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines).toEqual([expect.stringMatching(problem), "See 'mailbox-poller replay --help'."]);
    }
  });

  // Last: it turns one object into one stored before the metadata kept the notification's inputs.
  test('an object stored before the inputs were kept: skipped and named, or sent rebuilt with --approximate', {
    timeout: 120_000,
  }, async () => {
    const key = secondWave[3]!;
    const stripped = { 'mailbox-id': 'corpus', sha256: key.slice(-68, -4) };
    const copy = {
      Bucket: BUCKET,
      Key: key,
      CopySource: `${BUCKET}/${key}`,
      MetadataDirective: 'REPLACE' as const,
    };
    await aws.s3.send(new CopyObjectCommand({ ...copy, Metadata: stripped }));
    const unconfigured = await replay('--dry-run', '--since', between);
    expect(unconfigured.status).toBe(1);
    expect(unconfigured.stderr).toContain(`replay: cannot rebuild ${key}: host and username not kept`);
    const quiet = await replay('--dry-run', '--since', between, '-q');
    expect(quiet).toMatchObject({ status: 1, stdout: '' });
    // Our own lines only: the AWS SDK warns about the Node.js version on stderr of its own accord.
    const ours = quiet.stderr.split('\n').filter((line) => /^(replay|mailbox-poller):/.test(line));
    expect(ours).toEqual([
      expect.stringMatching(`^replay: cannot rebuild ${key}: host and username not kept`),
    ]);
    const dry = await replay('--dry-run', '--since', between, '--config', configFile);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(`replay: ${secondWave.length - 1} notification(s) would send`);
    expect(dry.stderr).toContain(`replay: skipped ${key}: not kept: host (from --config)`);
    expect(dry.stderr).toContain('--approximate sends them rebuilt');

    const queue = await aws.createQueue('approximate');
    const sent = await replay(
      '--queue-url',
      queue,
      '--since',
      between,
      '--approximate',
      '--config',
      configFile,
    );
    expect(sent.status).toBe(0);
    expect(sent.stderr).toContain(`replay: rebuilt ${key}: not kept:`);
    const rebuilt = (await aws.receiveAll(queue)).find((message) => objectKeyOf(message) === key)!;
    const [was, is] = [originals.get(key)!, rebuilt].map((message) => withoutStandIns(message.Body!));
    expect(is).toEqual(was);
  });

  /** The bundle in its own node, sent SIGINT `afterMs` after it printed its total. */
  function interruptedRun(args: string[], afterMs: number): Promise<CliRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cli.runner, ...args], { cwd: cli.dir, env: env() });
      let stdout = '';
      let stderr = '';
      let counted = false;
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (counted || !stderr.includes('to examine')) return;
        counted = true;
        setTimeout(() => child.kill('SIGINT'), afterMs).unref();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    });
  }
});

function objectKeyOf(message: Message): string {
  return (JSON.parse(message.Body ?? '{}') as { receipt: { action: { objectKey: string } } }).receipt.action
    .objectKey;
}

function startAfterOf(run: CliRun): string {
  const match = /--start-after '((?:[^']|'\\'')*)'/.exec(run.stderr);
  if (match === null) throw new Error(`no --start-after in: ${run.stderr}`);
  return match[1]!.replaceAll("'\\''", "'");
}

/** A notification without what a rebuilt one of an older object takes from stand-ins (docs/replay.md). */
function withoutStandIns(body: string): unknown {
  const notification = JSON.parse(body);
  delete notification.mail.timestamp;
  delete notification.receipt.timestamp;
  delete notification.receipt.processingTimeMillis;
  delete notification.pop3.retrievedAt;
  delete notification.pop3.utf8;
  return notification;
}
