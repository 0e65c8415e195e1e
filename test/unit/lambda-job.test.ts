import { describe, expect, it } from 'vitest';
import type { MailboxConfig } from '../../lib/config/types.ts';
import {
  buildJobBatches,
  decodeJob,
  encodeJob,
  JOB_MAX_BATCH_BYTES,
  JobFormatError,
  jobDeduplicationId,
  scheduleSlot,
} from '../../lib/lambda/job.ts';

function mailbox(id: string, extra: Partial<MailboxConfig> = {}): MailboxConfig {
  return {
    id,
    host: 'pop.example.com',
    port: 995,
    tls: 'implicit',
    username: `${id}@example.com`,
    password: { secretId: `mail/${id}` },
    credentialKind: 'password',
    auth: 'auto',
    ca: undefined,
    servername: undefined,
    allowInsecureAuth: false,
    pipelining: true,
    limits: { maxMessagesPerRun: 500, maxBytesPerRun: 200_000_000, maxMessageBytes: 50_000_000 },
    ...extra,
  };
}

describe('schedule slot', () => {
  it('floors the scheduled time to the start of its period', () => {
    const slot = scheduleSlot(new Date('2025-03-04T10:07:31.250Z'), 300);
    expect(slot.toISOString()).toBe('2025-03-04T10:05:00.000Z');
  });

  it('gives a retried dispatch the same slot as the first attempt', () => {
    const first = scheduleSlot(new Date('2025-03-04T10:05:00.000Z'), 300);
    const retry = scheduleSlot(new Date('2025-03-04T10:09:59.999Z'), 300);
    expect(retry.getTime()).toBe(first.getTime());
  });

  it('gives the next scheduled run a new slot', () => {
    const first = scheduleSlot(new Date('2025-03-04T10:05:00.000Z'), 300);
    const next = scheduleSlot(new Date('2025-03-04T10:10:00.000Z'), 300);
    expect(next.getTime() - first.getTime()).toBe(300_000);
  });

  it('rejects a period that is not a positive whole number of seconds', () => {
    expect(() => scheduleSlot(new Date(), 0)).toThrow(RangeError);
    expect(() => scheduleSlot(new Date(), 2.5)).toThrow(RangeError);
    expect(() => scheduleSlot(new Date('not a date'), 300)).toThrow(RangeError);
  });
});

describe('deduplication id', () => {
  it('is the mailbox id and the slot', () => {
    expect(jobDeduplicationId('billing.eu', new Date('2025-03-04T10:05:00Z'))).toBe(
      'billing.eu@2025-03-04T10:05:00.000Z',
    );
  });

  it('fits the SQS 128-character limit for the longest mailbox id', () => {
    const id = jobDeduplicationId('a'.repeat(64), new Date('2025-03-04T10:05:00Z'));
    expect(id.length).toBeLessThanOrEqual(128);
  });
});

describe('job batches', () => {
  const slot = new Date('2025-03-04T10:05:00Z');

  it('sends 10 jobs per SendMessageBatch call', () => {
    const mailboxes = Array.from({ length: 23 }, (_, i) => mailbox(`box-${i}`));
    const batches = buildJobBatches(mailboxes, slot);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
  });

  it('groups by mailbox and deduplicates by mailbox + slot, with batch-unique entry ids', () => {
    const [batch] = buildJobBatches([mailbox('support'), mailbox('invoices.de')], slot);
    expect(batch).toEqual([
      expect.objectContaining({
        Id: 'job-0',
        MessageGroupId: 'support',
        MessageDeduplicationId: 'support@2025-03-04T10:05:00.000Z',
      }),
      expect.objectContaining({
        Id: 'job-1',
        MessageGroupId: 'invoices.de',
        MessageDeduplicationId: 'invoices.de@2025-03-04T10:05:00.000Z',
      }),
    ]);
    for (const entry of batch ?? []) expect(entry.Id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('starts a new batch before the payload would pass 256 KiB', () => {
    const ca = 'x'.repeat(100 * 1024);
    const batches = buildJobBatches([mailbox('a', { ca }), mailbox('b', { ca }), mailbox('c', { ca })], slot);
    expect(batches.map((batch) => batch.length)).toEqual([2, 1]);
    for (const batch of batches) {
      const bytes = batch.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody), 0);
      expect(bytes).toBeLessThanOrEqual(JOB_MAX_BATCH_BYTES);
    }
  });

  it('sends nothing when there are no mailboxes', () => {
    expect(buildJobBatches([], slot)).toEqual([]);
  });
});

describe('job format', () => {
  it('round-trips a mailbox and its slot', () => {
    const box = mailbox('support');
    const job = decodeJob(encodeJob(box, new Date('2025-03-04T10:05:00Z')));
    expect(job).toEqual({
      version: 1,
      mailbox: JSON.parse(JSON.stringify(box)),
      slot: '2025-03-04T10:05:00.000Z',
    });
  });

  it('is versioned JSON with the mailbox and the slot', () => {
    const body = JSON.parse(encodeJob(mailbox('support'), new Date('2025-03-04T10:05:00Z')));
    expect(Object.keys(body).sort()).toEqual(['mailbox', 'slot', 'version']);
    expect(body.version).toBe(1);
  });

  it.each([
    ['not JSON', 'hello'],
    ['not an object', '42'],
    ['another version', JSON.stringify({ version: 2, mailbox: { id: 'a' }, slot: '2025-03-04T10:05:00Z' })],
    ['no mailbox', JSON.stringify({ version: 1, slot: '2025-03-04T10:05:00Z' })],
    ['no mailbox id', JSON.stringify({ version: 1, mailbox: {}, slot: '2025-03-04T10:05:00Z' })],
    ['a bad slot', JSON.stringify({ version: 1, mailbox: { id: 'a' }, slot: 'soon' })],
  ])('rejects a body that is %s', (_, body) => {
    expect(() => decodeJob(body)).toThrow(JobFormatError);
  });
});
