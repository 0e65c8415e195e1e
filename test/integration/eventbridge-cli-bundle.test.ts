/**
 * The CLI as shipped with `--event-bus` (and EVENT_BUS_NAME): the bundle scripts/build.mjs builds, run in
 * its own `node` against the in-memory maildrop, fauxqs S3 (+ SQS) and the recording PutEvents stand-in.
 * A message whose event failed stays on the server; the bus alone needs no queue.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ReceivedNotification } from '../../lib/notification/types.ts';
import { buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const PASSWORD = 'correct-horse-battery';
const MESSAGES = Array.from({ length: 5 }, (_, i) =>
  Buffer.from(`From: a@example.com\r\nSubject: message ${i + 1}\r\n\r\nbody ${i + 1}\r\n`),
);
const subjectOf = (detail: string) =>
  (JSON.parse(detail) as ReceivedNotification).mail.commonHeaders.subject ?? '';

let buildDir: string;
let runner: string;
let aws: Fauxqs;
let bus: EventBridgeEndpoint;
let server: MemoryPop3Server;
let configFile: string;

beforeAll(async () => {
  [{ dir: buildDir, runner }, aws, bus] = await Promise.all([
    buildCliBundle('eventbridge-cli-'),
    startFauxqs(),
    startEventBridgeEndpoint(),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([aws?.stop(), bus?.close()]);
  await rm(buildDir, { recursive: true, force: true });
});

beforeEach(async () => {
  bus.events.length = 0;
  bus.failed.length = 0;
  bus.calls.length = 0;
  bus.failEntries(undefined);
  server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }],
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
});

afterEach(async () => {
  await server?.close();
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runBuiltCli(runner, ['poll', '--config', configFile, ...args], {
    cwd: buildDir,
    env: { ...aws.env, AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint, PATH: process.env.PATH ?? '', ...env },
  });
}

describe('the bundled CLI with an EventBridge bus', () => {
  it('--event-bus alone: every message put on the bus as an event, then deleted', async () => {
    await aws.createBucket('mail-bus-only');
    const { status, stdout, stderr } = await cli(['--bucket', 'mail-bus-only', '--event-bus', 'mail-events']);

    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/^Destination: s3:\/\/mail-bus-only\/ \+ EventBridge mail-events$/m);
    expect(server.messages('alice')).toEqual([]);
    expect(bus.events.map((event) => subjectOf(event.detail))).toEqual(
      MESSAGES.map((_, i) => `message ${i + 1}`),
    );
    for (const event of bus.events) {
      expect(event).toMatchObject({
        eventBusName: 'mail-events',
        source: 'mailbox-poller',
        detailType: 'Email Received',
      });
    }
  });

  it('with --queue-url too: an entry the bus failed keeps its message; the event detail is the queue body', async () => {
    await aws.createBucket('mail-both');
    const queueUrl = await aws.createQueue('cli-notifications');
    bus.failEntries((event) =>
      subjectOf(event.detail) === 'message 3' ? { code: 'InvalidArgument', message: 'refused' } : undefined,
    );

    const { status, stderr } = await cli(['--bucket', 'mail-both', '--queue-url', queueUrl], {
      EVENT_BUS_NAME: 'arn:aws:events:us-east-1:123456789012:event-bus/mail-events',
    });

    expect(status).toBe(1);
    expect(stderr).toMatch(/notify-failed: .*InvalidArgument: refused/);
    expect(server.messages('alice')).toEqual([MESSAGES[2]]);
    const queued = await aws.receiveAll(queueUrl);
    expect(queued).toHaveLength(5);
    expect(bus.events).toHaveLength(4);
    for (const event of bus.events) {
      expect(event.eventBusName).toBe('arn:aws:events:us-east-1:123456789012:event-bus/mail-events');
      expect(queued.map((m) => m.Body)).toContain(event.detail);
    }
  });

  it('--event-bus without --bucket is a usage error', async () => {
    const { status, stderr } = await cli(['--event-bus', 'mail-events']);
    expect(status).toBe(2);
    expect(stderr).toMatch(/--bucket and --event-bus \(S3 \+ EventBridge\)/);
    expect(server.messages('alice')).toEqual(MESSAGES);
  });
});
