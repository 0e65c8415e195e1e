/**
 * The store's refusals through a whole run: an existing object under the message's key that is not this
 * message (S3 412, stored SHA-256 differs), and an S3 endpoint that stalls until the run's deadline. In
 * both the message is not committed: no DELE, it stays on the server, and the run says why. And headers
 * that are hard to notify (a subject after 300 KB of Received lines, emoji, U+FFFE) through S3 and SQS.
 */
import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { objectKeyFor } from '../../lib/adapters/object-key.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { ReceivedNotification } from '../../lib/notification/index.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';
import { USER_PASS_LOGIN } from '../support/scripted-login.ts';
import { startStalledServer } from '../support/stalled-server.ts';

let fauxqs: Fauxqs;
beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});

const { cleanups, ports } = pipelineFixture();

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const MESSAGE = Buffer.from('From: a@example.com\r\nTo: b@example.com\r\nSubject: one\r\n\r\nHello.\r\n');

/**
 * One message, RETR'd and then QUIT: a DELE anywhere fails the script. `untilClose`: after RETR, no more
 * answers (a run past its deadline closes without QUIT, which deletes nothing either).
 */
async function serverWithOneMessage(untilClose = false) {
  const server = await startScriptServer([
    ...USER_PASS_LOGIN,
    { expect: 'UIDL' },
    { send: '+OK\r\n1 uid-1\r\n.\r\n' },
    { expect: 'LIST' },
    { send: `+OK\r\n1 ${MESSAGE.length}\r\n.\r\n` },
    { expect: 'RETR 1' },
    { send: Buffer.concat([Buffer.from('+OK\r\n'), MESSAGE, Buffer.from('.\r\n')]) },
    ...(untilClose
      ? [{ stall: true as const }]
      : [{ expect: 'QUIT' }, { send: '+OK bye, nothing deleted\r\n' }]),
  ]);
  cleanups.push(() => server.close());
  return server;
}

/** Makes HeadObject report `checksum` as the stored SHA-256, as S3 does with ChecksumMode ENABLED. */
function reportStoredChecksum(client: S3Client, checksum: string): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'HeadObjectCommand') {
        Object.assign(result.output as object, { ChecksumSHA256: checksum, ChecksumType: 'FULL_OBJECT' });
      }
      return result;
    },
    { step: 'initialize', name: 'reportStoredChecksum' },
  );
}

describe('a run whose store refuses the message', () => {
  test.each([
    ['S3 reports a different stored SHA-256', true],
    ['the object has no SHA-256 and its bytes, read back, differ', false],
  ])(
    'an object under the key that is not this message (412): %s → no DELE, failure reported',
    async (_what, reports) => {
      const bucket = `mismatch-${reports ? 'head' : 'get'}`;
      await fauxqs.createBucket(bucket);
      const key = objectKeyFor('', 'test', 'uid-1', sha256(MESSAGE));
      const altered = Buffer.from('something else entirely');
      await fauxqs.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: altered }));
      const client = new S3Client({
        endpoint: fauxqs.endpoint,
        region: fauxqs.region,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        forcePathStyle: true,
      });
      fauxqs.emulateConditionalWrites(client);
      if (reports) reportStoredChecksum(client, createHash('sha256').update(altered).digest('base64'));
      const local = ports({ store: new S3MessageStore({ client, bucket }) });
      const server = await serverWithOneMessage();

      const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
      await server.done;

      expect(outcome.counts).toMatchObject({ found: 1, stored: 0, notified: 0, deleted: 0 });
      expect(outcome.skipped).toEqual([
        expect.objectContaining({
          msg: 1,
          reason: 'store-failed',
          detail: expect.stringMatching(/already exists but is not this message .*stays on the server/),
        }),
      ]);
      expect(local.notifications()).toEqual([]);
      expect(await fauxqs.getObject(bucket, key)).toEqual(altered);
    },
  );

  test('an S3 endpoint that never answers: the put is abandoned at the deadline, nothing committed', async () => {
    const stalled = await startStalledServer();
    cleanups.push(() => stalled.close());
    const client = new S3Client({
      endpoint: stalled.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      forcePathStyle: true,
    });
    const local = ports({ store: new S3MessageStore({ client, bucket: 'stalled' }) });
    const server = await serverWithOneMessage(true);

    const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(1_500));
    await server.done;

    expect(stalled.requests()).toBeGreaterThan(0);
    expect(server.received.toString('latin1')).not.toMatch(/DELE/);
    expect(outcome.counts).toMatchObject({ found: 1, stored: 0, notified: 0, deleted: 0 });
    expect(outcome.skipped).toEqual([
      expect.objectContaining({
        msg: 1,
        reason: 'store-failed',
        detail: expect.stringMatching(/abandoned: the run's deadline passed/),
      }),
    ]);
    expect(local.notifications()).toEqual([]);
  });
});

describe('a run through S3 and SQS (fauxqs) with headers that are hard to notify', () => {
  test('a subject after 300 KB of Received lines, an emoji subject and a U+FFFE subject are all notified', async () => {
    let flood = '';
    for (let i = 0; flood.length < 300_000; i++)
      flood += `Received: from relay${i}.example.net by mx.example.com id ${i}\r\n`;
    const messages = [
      Buffer.from(`${flood}From: a@example.com\r\nSubject: after the flood\r\n\r\nHello.\r\n`),
      Buffer.from('From: a@example.com\r\nSubject: Party \u{1F389} tonight\r\n\r\nHello.\r\n'),
      Buffer.from('From: a@example.com\r\nSubject: odd \uFFFE here\r\n\r\nHello.\r\n'),
    ];
    const bucket = 'notified';
    await fauxqs.createBucket(bucket);
    const queueUrl = await fauxqs.createQueue('notified');
    const local = ports({
      store: new S3MessageStore({ client: fauxqs.s3, bucket }),
      notifier: new SqsNotifier({ client: fauxqs.sqs, queueUrl }),
    });
    const server = await startScriptServer([
      ...USER_PASS_LOGIN,
      { expect: 'UIDL' },
      { send: '+OK\r\n1 a\r\n2 b\r\n3 c\r\n.\r\n' },
      { expect: 'LIST' },
      { send: `+OK\r\n${messages.map((m, i) => `${i + 1} ${m.length}\r\n`).join('')}.\r\n` },
      ...messages.flatMap((body, i) => [
        { expect: `RETR ${i + 1}` },
        { send: Buffer.concat([Buffer.from('+OK\r\n'), body, Buffer.from('.\r\n')]) },
      ]),
      ...messages.flatMap(() => [{ expect: /^DELE [1-3]$/ }, { send: '+OK\r\n' }]),
      { expect: 'QUIT' },
      { send: '+OK\r\n' },
    ]);
    cleanups.push(() => server.close());

    const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
    await server.done;

    expect(outcome.counts).toMatchObject({ found: 3, stored: 3, notified: 3, deleted: 3 });
    const received = await fauxqs.receiveAll(queueUrl);
    for (const message of received) expect(message.Body).toMatch(/^[\x20-\x7e]*$/);
    const documents = received.map((message) => JSON.parse(message.Body ?? '{}') as ReceivedNotification);
    const byUidl = new Map(documents.map((document) => [document.pop3.uidl, document]));
    expect(byUidl.get('a')?.mail.commonHeaders.subject).toBe('after the flood');
    expect(byUidl.get('a')?.mail.headersTruncated).toBe(true);
    expect(byUidl.get('b')?.mail.commonHeaders.subject).toBe('Party \u{1F389} tonight');
    expect(byUidl.get('c')?.mail.commonHeaders.subject).toBe('odd \uFFFE here');
    for (const [i, body] of messages.entries()) {
      const key = objectKeyFor('', 'test', ['a', 'b', 'c'][i], sha256(body));
      expect(await fauxqs.getObject(bucket, key)).toEqual(body);
    }
  });
});
