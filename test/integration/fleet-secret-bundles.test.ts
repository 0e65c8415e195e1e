/**
 * The fleet layout as users run it: `mailbox-poller secrets build` (the BUILT CLI, list on stdin) makes the
 * shared password secret, and the BUILT poll handler drains 50 mailboxes that share two secrets (40
 * password mailboxes with a field each in the fleet secret, 10 client-credentials mailboxes of one app),
 * in batches as the event source mapping delivers them. Secrets Manager stand-in, fauxqs, token endpoint,
 * real Dovecot. Exactly one GetSecretValue per secret for the whole fleet.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SECRETS_MANAGER_MAX_SECRET_BYTES } from '../../lib/aws-limits.ts';
import { type BuiltCli, buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import {
  buildFunctionBundles,
  captureOutput,
  lambdaContext,
  sqsRecordOf,
} from '../support/lambda-harness.ts';
import {
  type SecretsManagerEndpoint,
  startSecretsManagerEndpoint,
} from '../support/secrets-manager-endpoint.ts';
import { startTokenEndpoint, type TokenEndpoint } from '../support/token-endpoint.ts';

const APP = { clientId: 'fleet-app', clientSecret: 'fleet-app-secret' };
const FLEET_SECRET = 'pop3-fleet-1';
const APP_SECRET = 'oauth/fleet-app';
const APP_USER = 'oauthuser';
const CONFIG_BUCKET = 'config';
const passwordIds = Array.from({ length: 40 }, (_, i) => `fleet-${i}`);
const appIds = Array.from({ length: 10 }, (_, i) => `app-${i}`);
/** Spaces, a quote, a backslash and a non-ASCII letter: kept byte for byte through the secret. */
const passwordOf = (id: string) => `p w"\\ä-${id}`;

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

/** The built CLI with `input` on its stdin (the one way a list of passwords goes in). */
function runWithStdin(cli: BuiltCli, args: string[], input: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli.runner, ...args], { env: { PATH: process.env['PATH'] } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status: status ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('a fleet of 50 mailboxes on two shared secrets, through the built CLI and poll handler', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let secrets: SecretsManagerEndpoint;
  let tokens: TokenEndpoint;
  let cli: BuiltCli;
  let outDir: string;
  let poll: Handler;
  let dispatch: Handler;
  let jobQueueUrl: string;
  let jobQueueArn: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'fleet-bundles-'));
    tokens = await startTokenEndpoint({ clients: [APP], consentingUser: APP_USER });
    let bundles: { poll: string; dispatch: string };
    [dovecot, aws, secrets, bundles, cli] = await Promise.all([
      startDovecot({
        users: [
          ...passwordIds.map((name) => ({ name, password: passwordOf(name) })),
          { name: APP_USER, password: 'unused' },
        ],
        oauth2IntrospectionUrl: `${tokens.url}/introspect`,
      }),
      startFauxqs(),
      startSecretsManagerEndpoint(),
      buildFunctionBundles(outDir),
      buildCliBundle('fleet-cli-'),
    ]);
    await Promise.all([aws.createBucket('mail'), aws.createBucket(CONFIG_BUCKET)]);
    jobQueueUrl = await aws.createQueue('jobs', {
      fifo: true,
      attributes: { DeduplicationScope: 'messageGroup', FifoThroughputLimit: 'perMessageGroupId' },
    });
    jobQueueArn = aws.server.inspectQueue('jobs.fifo')!.arn;
    const notificationQueueUrl = await aws.createQueue('notifications');
    Object.assign(process.env, aws.env, {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CONFIG_BUCKET,
      CONFIG_KEY: 'mailbox-poller/config.json',
      JOB_QUEUE_URL: jobQueueUrl,
      SCHEDULE_PERIOD_SECONDS: '300',
      MESSAGE_BUCKET: 'mail',
      KEY_PREFIX: 'mail/',
      NOTIFICATION_QUEUE_URL: notificationQueueUrl,
      JOB_MAX_RECEIVE_COUNT: '5',
      METRICS_NAMESPACE: 'MailboxPoller',
      POWERTOOLS_SERVICE_NAME: 'fleet-bundles-test',
    });
    poll = (await import(pathToFileURL(bundles.poll).href)) as Handler;
    dispatch = (await import(pathToFileURL(bundles.dispatch).href)) as Handler;
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([dovecot?.stop(), aws?.stop(), secrets?.close(), tokens?.close(), cli?.remove()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  const server = () => ({ host: '127.0.0.1', port: dovecot.pop3sPort, tls: 'implicit', ca: dovecot.caPem });

  async function receiveJobs(): Promise<Message[]> {
    const received: Message[] = [];
    for (;;) {
      const reply = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: jobQueueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if ((reply.Messages ?? []).length === 0) return received;
      received.push(...reply.Messages!);
    }
  }

  test('secrets build → put-secret-value → 50 mailboxes drained with one GetSecretValue per secret', async () => {
    const list = `# fleet 1\n${passwordIds.map((id) => `${id}\t${passwordOf(id)}`).join('\n')}\n`;
    const built = await runWithStdin(
      cli,
      ['secrets', 'build', '--secret-id', FLEET_SECRET, '--format', 'put-secret-value'],
      list,
    );
    expect(built).toMatchObject({ status: 0 });
    expect(built.stderr).toContain('40 mailboxes');
    expect(built.stderr).not.toContain(passwordOf(passwordIds[0]!));
    const input = JSON.parse(built.stdout) as { SecretId: string; SecretString: string };
    expect(input.SecretId).toBe(FLEET_SECRET);
    secrets.putSecret(input.SecretId, input.SecretString);
    secrets.putSecret(
      APP_SECRET,
      JSON.stringify({ grant: 'client_credentials', ...APP, scope: 'pop', tokenUrl: tokens.tokenUrl }),
    );
    await Promise.all(
      passwordIds.map((id) => dovecot.seed(id, [Buffer.from(`Subject: for ${id}\r\n\r\nbody\r\n`)])),
    );
    const mailboxes = [
      ...appIds.map((id) => ({
        id,
        ...server(),
        username: APP_USER,
        oauth2: { grant: 'client_credentials', secret: { secretId: APP_SECRET } },
      })),
      ...passwordIds.map((id) => ({
        id,
        ...server(),
        username: id,
        password: { secretId: FLEET_SECRET, field: id },
      })),
    ];
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: CONFIG_BUCKET,
        Key: process.env['CONFIG_KEY'],
        Body: JSON.stringify({ mailboxes }),
      }),
    );
    await dispatch.handler({ scheduledTime: '2025-03-04T10:05:00.000Z' }, lambdaContext('dispatch', 60_000));
    const jobs = await receiveJobs();
    expect(jobs).toHaveLength(50);
    // The ten app mailboxes in one batch, so their reads of the app's secret are concurrent.
    const isApp = (job: Message) => job.Attributes?.['MessageGroupId']?.startsWith('app-') === true;
    const ordered = [...jobs.filter(isApp), ...jobs.filter((job) => !isApp(job))];
    const output = captureOutput();
    const failures: unknown[] = [];
    try {
      for (let at = 0; at < ordered.length; at += 10) {
        const records = ordered.slice(at, at + 10).map((job) => sqsRecordOf(job, jobQueueArn));
        const response = (await poll.handler(
          { Records: records } as SQSEvent,
          lambdaContext('poll', 300_000),
        )) as SQSBatchResponse;
        failures.push(...response.batchItemFailures);
      }
    } finally {
      output.stop();
    }
    expect(failures).toEqual([]);
    const left = await Promise.all(passwordIds.map((id) => dovecot.messageCount(id)));
    expect(left.every((count) => count === 0)).toBe(true);
    expect((await aws.listKeys('mail', 'mail/fleet-')).length).toBe(40);
    expect([...secrets.requestedIds].sort()).toEqual([APP_SECRET, FLEET_SECRET]);
  }, 180_000);

  test('secrets build: the SecretString by default; a list over the limit is refused with a split that works', async () => {
    const small = await runWithStdin(cli, ['secrets', 'build'], 'a\tone two\r\nb\t"x"\n');
    expect(small.status).toBe(0);
    expect(JSON.parse(small.stdout)).toEqual({ a: 'one two', b: '"x"' });

    // 2,000 mailboxes with 40-byte passwords: about 100 KB, over one secret.
    const lines = Array.from({ length: 2000 }, (_, i) => `mbx-${i}\t${`pw-${i}-`.padEnd(40, 'x')}`);
    const file = path.join(cli.dir, 'fleet.tsv');
    await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    const big = await runBuiltCli(cli.runner, ['secrets', 'build', '--from', file], { env: {} });
    expect(big.status).toBe(1);
    expect(big.stdout).toBe('');
    expect(big.stderr).toContain(`over the ${SECRETS_MANAGER_MAX_SECRET_BYTES} bytes`);
    const perPart = Number(/split -l (\d+) LIST part-/.exec(big.stderr)?.[1]);
    expect(perPart).toBeGreaterThan(0);
    for (let at = 0; at < lines.length; at += perPart) {
      const part = await runWithStdin(cli, ['secrets', 'build'], lines.slice(at, at + perPart).join('\n'));
      expect(part.status).toBe(0);
      expect(Buffer.byteLength(part.stdout.trimEnd())).toBeLessThanOrEqual(SECRETS_MANAGER_MAX_SECRET_BYTES);
    }
  });

  test('secrets build takes no password on the command line, and does not echo one', async () => {
    const run = await runBuiltCli(cli.runner, ['secrets', 'build', 'mbx-1', 'hunter2-typed'], { env: {} });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('never from the command line');
    expect(run.stderr).not.toContain('hunter2-typed');
    expect(run.stdout).toBe('');
  });
});
