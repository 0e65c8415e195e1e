import { createHash } from 'node:crypto';
import {
  type SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSqsClient, SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import { SQS_MAX_PAYLOAD_BYTES } from '../../lib/aws-limits.ts';
import { Deadline } from '../../lib/deadline.ts';
import {
  buildNotification,
  HeaderCollector,
  type ReceivedNotification,
} from '../../lib/notification/index.ts';
import type { OutgoingNotification } from '../../lib/ports.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { startStalledServer } from '../support/stalled-server.ts';

let fauxqs: Fauxqs;
let queueNumber = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});
afterEach(() => {
  vi.unstubAllEnvs();
});

function notification(n: number, overrides: Partial<OutgoingNotification> = {}): OutgoingNotification {
  const key = `mail/support/uidl/UID-${n}/${'a'.repeat(64)}.eml`;
  return {
    entryId: `entry-${n}`,
    body: JSON.stringify({ notificationType: 'Received', receipt: { action: { objectKey: key } } }),
    mailboxId: 'support',
    deduplicationKey: key,
    ...overrides,
  };
}

/** A notifier whose client comes from the environment, as the Lambda builds it, on a fresh queue. */
async function freshNotifier(options: { fifo?: boolean; attributes?: Record<string, string> } = {}) {
  const queueUrl = await fauxqs.createQueue(`notifications-${++queueNumber}`, options);
  for (const [name, value] of Object.entries(fauxqs.env)) vi.stubEnv(name, value);
  const client = createSqsClient();
  let requests = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      requests++;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const notifier = new SqsNotifier({ client, queueUrl });
  return { queueUrl, notifier, requests: () => requests };
}

describe('SqsNotifier on a standard queue', () => {
  it('delivers each notification once, in order, tagged with the mailbox id', async () => {
    const { queueUrl, notifier } = await freshNotifier();
    const batch = [notification(1), notification(2), notification(3)];

    const results = await notifier.send(batch);

    expect(results).toEqual(batch.map((entry) => ({ entryId: entry.entryId, ok: true })));
    const received = await fauxqs.receiveAll(queueUrl);
    expect(received.map((message) => message.Body)).toEqual(batch.map((entry) => entry.body));
    expect(received[0]?.MessageAttributes?.mailboxId).toEqual({ DataType: 'String', StringValue: 'support' });
    expect(received[0]?.Attributes?.MessageGroupId).toBeUndefined();
  });

  it('takes entry ids that SQS itself would refuse', async () => {
    const { notifier } = await freshNotifier();
    const results = await notifier.send([notification(1, { entryId: 'support:UID 1/ä' })]);
    expect(results).toEqual([{ entryId: 'support:UID 1/ä', ok: true }]);
  });

  it('reports an entry the queue refuses as too large, and delivers the others', async () => {
    const { queueUrl, notifier } = await freshNotifier({ attributes: { MaximumMessageSize: '1024' } });
    const tooLarge = notification(2, { body: JSON.stringify({ padding: 'x'.repeat(2000) }) });

    const results = await notifier.send([notification(1), tooLarge, notification(3)]);

    expect(results[0]).toEqual({ entryId: 'entry-1', ok: true });
    expect(results[1]).toMatchObject({ entryId: 'entry-2', ok: false });
    expect(results[1]?.ok === false && results[1].reason).toMatch(
      /InvalidParameterValue: .*shorter than 1024/,
    );
    expect(results[2]).toEqual({ entryId: 'entry-3', ok: true });
    expect(await fauxqs.receiveAll(queueUrl)).toHaveLength(2);
  });

  it('reports an entry with characters SQS does not allow, and delivers the others', async () => {
    const { notifier } = await freshNotifier();
    const results = await notifier.send([notification(1, { body: 'nul \u0000 byte' }), notification(2)]);
    expect(results[0]).toMatchObject({ entryId: 'entry-1', ok: false, reason: /^InvalidMessageContents/ });
    expect(results[1]).toEqual({ entryId: 'entry-2', ok: true });
  });

  it('fails an entry over the SQS size limit without sending it', async () => {
    const { queueUrl, notifier, requests } = await freshNotifier();
    const huge = notification(1, { body: 'x'.repeat(SQS_MAX_PAYLOAD_BYTES) });

    const results = await notifier.send([huge, notification(2)]);

    expect(results[0]).toMatchObject({ ok: false, reason: /over the SQS limit of 1048576/ });
    expect(results[1]).toEqual({ entryId: 'entry-2', ok: true });
    expect(requests()).toBe(1);
    expect(await fauxqs.receiveAll(queueUrl)).toHaveLength(1);
  });

  it('splits what does not fit one request (10 entries, 1 MiB) into several', async () => {
    const { queueUrl, notifier, requests } = await freshNotifier();
    const big = [1, 2, 3].map((n) => notification(n, { body: 'b'.repeat(400_000) }));
    const many = Array.from({ length: 12 }, (_, i) => notification(10 + i));

    const results = await notifier.send([...big, ...many]);

    expect(results.every((result) => result.ok)).toBe(true);
    // [b1 b2] [b3 + 9 small] [3 small]
    expect(requests()).toBe(3);
    const received = await fauxqs.receiveAll(queueUrl);
    expect(received.map((message) => message.Body)).toEqual([...big, ...many].map((entry) => entry.body));
  });

  it('fails every entry, without throwing, when the queue does not exist', async () => {
    for (const [name, value] of Object.entries(fauxqs.env)) vi.stubEnv(name, value);
    const queueUrl = `${fauxqs.endpoint}/000000000000/no-such-queue`;
    const notifier = new SqsNotifier({ client: createSqsClient(), queueUrl });

    const results = await notifier.send([notification(1), notification(2)]);

    expect(results).toHaveLength(2);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, reason: /no-such-queue failed: .*QueueDoesNotExist/ });
    }
  });

  it('fails a repeated entry id instead of sending an ambiguous batch', async () => {
    const { notifier } = await freshNotifier();
    const results = await notifier.send([notification(1), notification(2, { entryId: 'entry-1' })]);
    expect(results[0]).toEqual({ entryId: 'entry-1', ok: true });
    expect(results[1]).toMatchObject({ ok: false, reason: /not unique/ });
  });
});

describe('SqsNotifier on a FIFO queue', () => {
  it('groups by mailbox and deduplicates by the SHA-256 of the object key', async () => {
    const { queueUrl, notifier } = await freshNotifier({ fifo: true });
    expect(queueUrl.endsWith('.fifo')).toBe(true);
    const first = notification(1);
    const other = notification(2, { mailboxId: 'invoices' });

    expect(await notifier.send([first, other])).toEqual([
      { entryId: 'entry-1', ok: true },
      { entryId: 'entry-2', ok: true },
    ]);
    // A re-run after an interrupted session sends the same notification again: delivered once.
    expect(await notifier.send([first])).toEqual([{ entryId: 'entry-1', ok: true }]);

    const received = await fauxqs.receiveAll(queueUrl);
    expect(received).toHaveLength(2);
    const [support, invoices] = received;
    expect(support?.Attributes?.MessageGroupId).toBe('support');
    expect(support?.Attributes?.MessageDeduplicationId).toBe(
      createHash('sha256').update(first.deduplicationKey).digest('hex'),
    );
    expect(invoices?.Attributes?.MessageGroupId).toBe('invoices');
  });
});

describe('SqsNotifier retries', () => {
  type Reply = Pick<SendMessageBatchCommandOutput, 'Successful' | 'Failed'>;

  /** A client that answers each SendMessageBatch with the next scripted reply, given the entry ids sent. */
  function scriptedClient(script: ((ids: string[]) => Reply)[]) {
    const sent: string[][] = [];
    const client = {
      async send(command: SendMessageBatchCommand) {
        const ids = (command.input.Entries ?? []).map((entry) => entry.Id ?? '');
        sent.push(ids);
        const reply = script[sent.length - 1];
        if (reply === undefined) throw new Error('unexpected request');
        return reply(ids);
      },
    };
    return { client: client as unknown as SQSClient, sent };
  }

  const ok = (id: string) => ({ Id: id, MessageId: `id-${id}`, MD5OfMessageBody: '' });
  const internalError = (id: string) => ({
    Id: id,
    SenderFault: false,
    Code: 'InternalError',
    Message: 'oops',
  });

  it('sends again, after a growing pause, only the entries that failed through no fault of ours', async () => {
    const { client, sent } = scriptedClient([
      (ids) => ({ Successful: [ok(ids[0]!)], Failed: [internalError(ids[1]!), internalError(ids[2]!)] }),
      (ids) => ({ Successful: [ok(ids[0]!)], Failed: [internalError(ids[1]!)] }),
      (ids) => ({ Successful: [ok(ids[0]!)], Failed: [] }),
    ]);
    const pauses: number[] = [];
    const notifier = new SqsNotifier({
      client,
      queueUrl: 'https://sqs.example/1/q',
      sleep: async (ms) => void pauses.push(ms),
    });

    const results = await notifier.send([notification(1), notification(2), notification(3)]);

    expect(results.map((result) => result.ok)).toEqual([true, true, true]);
    expect(sent.map((ids) => ids.length)).toEqual([3, 2, 1]);
    expect(pauses).toEqual([100, 200]);
  });

  it('gives up after two retries and reports the last error', async () => {
    const alwaysFailing = (ids: string[]) => ({ Successful: [], Failed: ids.map(internalError) });
    const { client, sent } = scriptedClient([alwaysFailing, alwaysFailing, alwaysFailing]);
    const notifier = new SqsNotifier({ client, queueUrl: 'https://sqs.example/1/q', sleep: async () => {} });

    const results = await notifier.send([notification(1)]);

    expect(results).toEqual([{ entryId: 'entry-1', ok: false, reason: 'InternalError: oops' }]);
    expect(sent).toHaveLength(3);
  });

  it('does not retry what SQS calls a sender fault', async () => {
    const { client, sent } = scriptedClient([
      (ids) => ({
        Successful: [],
        Failed: [{ Id: ids[0], SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad' }],
      }),
    ]);
    const notifier = new SqsNotifier({ client, queueUrl: 'https://sqs.example/1/q', sleep: async () => {} });

    const results = await notifier.send([notification(1)]);

    expect(results).toEqual([{ entryId: 'entry-1', ok: false, reason: 'InvalidParameterValue: bad' }]);
    expect(sent).toHaveLength(1);
  });

  it('sends again an entry that is missing from the reply, since its fate is unknown', async () => {
    const { client, sent } = scriptedClient([
      (ids) => ({ Successful: [ok(ids[0]!)], Failed: [] }),
      (ids) => ({ Successful: [ok(ids[0]!)], Failed: [] }),
    ]);
    const notifier = new SqsNotifier({ client, queueUrl: 'https://sqs.example/1/q', sleep: async () => {} });

    const results = await notifier.send([notification(1), notification(2)]);

    expect(results.map((result) => result.ok)).toEqual([true, true]);
    expect(sent.map((ids) => ids.length)).toEqual([2, 1]);
  });
});

describe('SqsNotifier with notification bodies built from real headers', () => {
  function built(header: string | Buffer, truncated = false): OutgoingNotification {
    const headerBytes = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
    const { body } = buildNotification({
      mailboxId: 'support',
      host: 'pop.example.com',
      username: 'support',
      uidl: 'u1',
      size: 1,
      sha256: 'a'.repeat(64),
      retrievedAt: new Date('2025-03-01T10:00:00.000Z'),
      processingTimeMillis: 1,
      bucketName: 'mail-archive',
      objectKey: `mail/support/uidl/u1/${'a'.repeat(64)}.eml`,
      headerBytes,
      headerSectionTruncated: truncated,
    });
    return notification(1, { body });
  }

  it('delivers subjects with an emoji and with U+FFFE, and the received body parses to the same JSON', async () => {
    const { queueUrl, notifier } = await freshNotifier();
    const batch = [
      { ...built('Subject: Party \u{1F389} tonight\r\n\r\n'), entryId: 'emoji' },
      { ...built('Subject: odd \uFFFE and \uFFFF here\r\n\r\n'), entryId: 'nonchar' },
    ];

    const results = await notifier.send(batch);

    expect(results).toEqual([
      { entryId: 'emoji', ok: true },
      { entryId: 'nonchar', ok: true },
    ]);
    const received = await fauxqs.receiveAll(queueUrl);
    expect(received.map((message) => JSON.parse(message.Body ?? 'null'))).toEqual(
      batch.map((entry) => JSON.parse(entry.body)),
    );
    const subjects = received.map(
      (message) => (JSON.parse(message.Body ?? '{}') as ReceivedNotification).mail.commonHeaders.subject,
    );
    expect(subjects).toEqual(['Party \u{1F389} tonight', 'odd \uFFFE and \uFFFF here']);
    for (const message of received) expect(message.Body).toMatch(/^[\x20-\x7e]*$/);
  });

  it('would be refused as raw UTF-8 JSON: the emulator, like some SQS implementations, rejects both', async () => {
    const { notifier } = await freshNotifier();
    const raw = ['Party \u{1F389} tonight', 'odd \uFFFE here'].map((subject, n) =>
      notification(n, { body: JSON.stringify({ subject }) }),
    );
    const results = await notifier.send(raw);
    for (const result of results) {
      expect(result.ok === false && result.reason).toMatch(/Invalid characters found/);
    }
  });

  it('has the subject of a message whose 300 KB of Received lines come before it', async () => {
    const { queueUrl, notifier } = await freshNotifier();
    let header = '';
    for (let i = 0; header.length < 300_000; i++) {
      header += `Received: from relay${i}.example.net by mx.example.com with ESMTP id ${i}\r\n`;
    }
    header += 'From: sender@example.net\r\nSubject: found after the flood\r\n\r\nbody\r\n';
    const collector = new HeaderCollector();
    const bytes = Buffer.from(header);
    for (let at = 0; at < bytes.length; at += 16_384) collector.write(bytes.subarray(at, at + 16_384));

    const [result] = await notifier.send([built(collector.headerBytes(), collector.truncated)]);

    expect(result).toEqual({ entryId: 'entry-1', ok: true });
    const [received] = await fauxqs.receiveAll(queueUrl);
    const document = JSON.parse(received?.Body ?? '{}') as ReceivedNotification;
    expect(document.mail.headersTruncated).toBe(true);
    expect(document.mail.commonHeaders.subject).toBe('found after the flood');
    expect(document.mail.source).toBe('sender@example.net');
  });
});

describe('SqsNotifier and the run deadline', () => {
  it('fails every entry, sending nothing, once the deadline has passed', async () => {
    const { queueUrl, notifier, requests } = await freshNotifier();
    const results = await notifier.send([notification(1), notification(2)], {
      signal: AbortSignal.abort(new Error('deadline')),
    });
    expect(results).toEqual([
      { entryId: 'entry-1', ok: false, reason: expect.stringMatching(/deadline passed/) },
      { entryId: 'entry-2', ok: false, reason: expect.stringMatching(/deadline passed/) },
    ]);
    expect(requests()).toBe(0);
    expect(await fauxqs.receiveAll(queueUrl)).toEqual([]);
  });

  it('abandons a request to an SQS endpoint that never answers when the deadline aborts', async () => {
    const stalled = await startStalledServer();
    try {
      const client = new SQSClient({
        endpoint: stalled.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      const notifier = new SqsNotifier({ client, queueUrl: `${stalled.url}/000000000000/notifications` });
      const deadline = Deadline.after(300);
      const results = await notifier.send([notification(1)], { signal: deadline.signal() });
      expect(results).toEqual([
        {
          entryId: 'entry-1',
          ok: false,
          reason: expect.stringMatching(/abandoned: the run's deadline passed/),
        },
      ]);
      expect(stalled.requests()).toBeGreaterThan(0);
    } finally {
      await stalled.close();
    }
  });
});
