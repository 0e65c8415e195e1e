/**
 * The whole product on real components: every corpus message, seeded into a real Dovecot, drained by
 * pollMailbox into S3 and SQS (fauxqs, through the real AWS SDK adapters) and into the local default.
 * Afterwards: each object is byte-identical to what Dovecot served, there is exactly one object and one
 * notification per message, and the mailbox is empty.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { ReceivedNotification } from '../../lib/notification/index.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { systemClock } from '../../lib/ports.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { servedByDovecot } from '../support/served.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeWithCorpus('corpus drained through the pipeline', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  const corpus = () => loadCorpus();
  const password = 'corpus-password';

  beforeAll(async () => {
    [dovecot, aws] = await Promise.all([
      startDovecot({
        users: [
          { name: 'alice', password },
          { name: 'bob', password },
        ],
      }),
      startFauxqs(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dovecot?.stop(), aws?.stop()]);
  });

  function mailbox(user: string) {
    return testMailbox({
      id: `corpus-${user}`,
      port: dovecot.pop3sPort,
      tls: 'implicit',
      ca: dovecot.caPem,
      servername: 'localhost',
      username: user,
      credential: { literal: password },
      allowInsecureAuth: false,
    });
  }

  test('into S3 + SQS: byte-identical objects, one notification each, mailbox empty', async () => {
    const seeded = corpus().map((message) => toCrlf(message.bytes));
    await dovecot.seed('alice', seeded);
    await aws.createBucket('mail');
    const queueUrl = await aws.createQueue('notifications');
    const ports = {
      store: new S3MessageStore({ client: aws.s3, bucket: 'mail', keyPrefix: 'in/' }),
      notifier: new SqsNotifier({ client: aws.sqs, queueUrl }),
      credentials: new ConfigCredentialsProvider(),
      clock: systemClock,
    };
    const outcome = await pollMailbox(mailbox('alice'), ports, Deadline.after(120_000));
    expect(outcome).toMatchObject({ status: 'ok', quitConfirmed: true });
    expect(outcome.counts).toMatchObject({
      found: seeded.length,
      stored: seeded.length,
      notified: seeded.length,
      deleted: seeded.length,
      left: 0,
    });
    expect(await dovecot.messageCount('alice')).toBe(0);

    const keys = await aws.listKeys('mail');
    expect(keys).toHaveLength(seeded.length);
    const objects = new Map<string, Buffer>();
    for (const key of keys) objects.set(key, await aws.getObject('mail', key));
    const expected = seeded.map((bytes) => sha256(servedByDovecot(bytes))).sort();
    expect([...objects.values()].map(sha256).sort()).toEqual(expected);

    const notifications = await aws.receiveAll(queueUrl);
    expect(notifications).toHaveLength(seeded.length);
    const byKey = new Map<string, ReceivedNotification>();
    for (const received of notifications) {
      const body = JSON.parse(received.Body!);
      expect(received.MessageAttributes?.mailboxId?.StringValue).toBe('corpus-alice');
      expect(body.notificationType).toBe('Received');
      byKey.set(body.receipt.action.objectKey, body);
    }
    expect([...byKey.keys()].sort()).toEqual(keys);
    for (const [key, body] of byKey) {
      const object = objects.get(key)!;
      expect(body.receipt.action).toEqual({ type: 'S3', bucketName: 'mail', objectKey: key });
      expect(body.pop3).toMatchObject({
        mailboxId: 'corpus-alice',
        sha256: sha256(object),
        size: object.length,
      });
      expect(key).toBe(`in/corpus-alice/uidl/${body.pop3.uidl}/${sha256(object)}.eml`);
    }
    // Decoded subjects (RFC 2047: ISO-2022-JP, GB2312 Q) and parsed addresses.
    const subjects = [...byKey.values()].map((b) => b.mail.commonHeaders.subject);
    expect(subjects).toContain('日本語メールテスト (testing Japanese emails)');
    expect(subjects).toContain('RE: 装硬碟问题');
    const withFrom = [...byKey.values()].filter((b) => (b.mail.commonHeaders.from?.length ?? 0) > 0);
    expect(withFrom.length).toBeGreaterThan(seeded.length / 2);
  });

  test('into the local default: the same objects as files and notifications.jsonl', async () => {
    const seeded = corpus().map((message) => toCrlf(message.bytes));
    await dovecot.seed('bob', seeded);
    const local = localPorts();
    try {
      const outcome = await pollMailbox(mailbox('bob'), local, Deadline.after(120_000));
      expect(outcome).toMatchObject({
        status: 'ok',
        counts: { stored: seeded.length, deleted: seeded.length },
      });
      expect(await dovecot.messageCount('bob')).toBe(0);
      const objects = local.objects();
      expect([...objects.values()].map(sha256).sort()).toEqual(
        seeded.map((b) => sha256(servedByDovecot(b))).sort(),
      );
      const notifications = local.notifications();
      expect(notifications).toHaveLength(seeded.length);
      expect(new Set(notifications.map((n) => n.receipt.action.objectKey))).toEqual(new Set(objects.keys()));
    } finally {
      local.remove();
    }
  });
});
