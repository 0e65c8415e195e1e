/**
 * A notification sent again after an interrupted run is the first one, byte for byte, through the CLI as
 * shipped (the bundle scripts/build.mjs builds, in its own `node`): corpus messages in Dovecot behind a
 * proxy that cuts the connection right after the first DELE reaches the server (every notification of the
 * run was accepted, nothing is committed: no QUIT), then a second run that retrieves them all again. S3 is
 * fauxqs behind the request recorder, which answers conditional writes onto a taken key with 412 as S3
 * does, so the second run finds each object there. Its notifications carry the times the objects keep from
 * the first run, and `replay` of the same objects gives the same bodies again.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type AwsRequestRecorder, startAwsRequestRecorder } from '../support/aws-request-recorder.ts';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { FaultPlan } from '../support/crash-sweep.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const PASSWORD = 'resent-password';
const BUCKET = 'mail';
const KEY_PREFIX = 'in/';
const MESSAGES = 6;

describeWithCorpus('a notification sent again after an interrupted run, through the built CLI', () => {
  let cli: BuiltCli;
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let recorder: AwsRequestRecorder;
  let proxy: TcpProxy;
  const plan = new FaultPlan();

  beforeAll(async () => {
    [cli, dovecot, aws] = await Promise.all([
      buildCliBundle('resent-cli-'),
      startDovecot({ users: [{ name: 'alice', password: PASSWORD }] }),
      startFauxqs(),
    ]);
    recorder = await startAwsRequestRecorder({ s3: aws.endpoint, sqs: aws.endpoint });
    proxy = await startTcpProxy({
      target: { host: dovecot.host, port: dovecot.pop3Port },
      onClientData: plan.clientHook(),
    });
    await aws.createBucket(BUCKET);
  }, 300_000);

  afterAll(async () => {
    await Promise.all([proxy?.close(), recorder?.close(), dovecot?.stop(), aws?.stop()]);
    await cli?.remove();
  });

  /** The built CLI with every AWS request through the recorder (S3's 412 on a taken key), or straight. */
  const run = (args: string[], throughRecorder: boolean) => {
    const endpoints = throughRecorder
      ? { AWS_ENDPOINT_URL: recorder.endpoint }
      : { AWS_ENDPOINT_URL_S3: aws.endpoint, AWS_ENDPOINT_URL_SQS: aws.endpoint };
    const env = {
      ...endpoints,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PATH: process.env.PATH ?? '',
      MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks'),
    };
    return runBuiltCli(cli.runner, args, { cwd: cli.dir, env });
  };

  test('the second run’s notifications equal the first run’s byte for byte, and replay gives them again', {
    timeout: 300_000,
  }, async () => {
    const configFile = path.join(cli.dir, 'mailboxes.json');
    const mailbox = {
      id: 'corpus',
      host: '127.0.0.1',
      port: proxy.port,
      tls: 'none',
      allowInsecureAuth: true,
    };
    const settings = { username: 'alice', password: PASSWORD, trustedAuthservId: ['mx.google.com'] };
    await writeFile(configFile, JSON.stringify({ mailboxes: [{ ...mailbox, ...settings }] }));
    await dovecot.seed(
      'alice',
      loadCorpus()
        .slice(0, MESSAGES)
        .map((message) => toCrlf(message.bytes)),
    );
    const queue = await aws.createQueue('notifications');
    const poll = ['poll', '--config', configFile, '--bucket', BUCKET, '--key-prefix', KEY_PREFIX];

    plan.fault = { kind: 'cut-after-command', command: 'DELE', occurrence: 1 };
    const cut = await run([...poll, '--queue-url', queue], true);
    expect(plan.fault, 'the cut after the first DELE never happened').toEqual({ kind: 'none' });
    expect(cut.status, cut.stderr).not.toBe(0);
    const first = bodiesByKey(await aws.receiveAll(queue));
    expect(first.size).toBeGreaterThan(0);

    const requestsBefore = recorder.requests.length;
    const again = await run([...poll, '--queue-url', queue], true);
    expect(again.status, again.stderr).toBe(0);
    const second = bodiesByKey(await aws.receiveAll(queue));
    expect(second.size).toBe(MESSAGES);
    // Every message was found stored: the second run wrote no object, each PUT was refused with 412.
    const puts = recorder.requests
      .slice(requestsBefore)
      .filter((request) => request.method === 'PUT' && request.path.endsWith('.eml'));
    expect(puts.map((request) => request.status)).toEqual(Array(MESSAGES).fill(412));

    for (const [key, body] of first) expect(second.get(key), key).toBe(body);

    const replayQueue = await aws.createQueue('replayed');
    const replay = ['replay', '--bucket', BUCKET, '--key-prefix', KEY_PREFIX, '--rate', '1000'];
    const replayed = await run([...replay, '--queue-url', replayQueue], false);
    expect(replayed.status, replayed.stderr).toBe(0);
    expect(bodiesByKey(await aws.receiveAll(replayQueue))).toEqual(second);
  });
});

/** Each notification's body by the object key it names; a key named twice fails the test. */
function bodiesByKey(messages: Message[]): Map<string, string> {
  const bodies = new Map<string, string>();
  for (const message of messages) {
    const key = JSON.parse(message.Body!).receipt.action.objectKey as string;
    expect(bodies.has(key), `${key} notified twice in one run`).toBe(false);
    bodies.set(key, message.Body!);
  }
  return bodies;
}
