import { describe, expect, it } from 'vitest';
import type { MailboxConfig } from '../../../lib/config/types.ts';
import {
  buildJobBatches,
  decodeJob,
  encodeJob,
  JOB_FORMAT_VERSION,
  JOB_MAX_BATCH_BYTES,
  JobFormatError,
  jobDeduplicationId,
  scheduleSlot,
} from '../../../lib/lambda/job.ts';

function mailbox(id: string, extra: Partial<MailboxConfig> = {}): MailboxConfig {
  return {
    id,
    host: 'pop.example.com',
    port: 995,
    tls: 'implicit',
    username: `${id}@example.com`,
    credential: { secretId: `mail/${id}` },
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

const VERSION = 'a'.repeat(64);

describe('job batches', () => {
  const slot = new Date('2025-03-04T10:05:00Z');

  it('sends 10 jobs per SendMessageBatch call', () => {
    const mailboxes = Array.from({ length: 23 }, (_, i) => mailbox(`box-${i}`));
    const batches = buildJobBatches(mailboxes, slot, VERSION);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
  });

  it('groups by mailbox and deduplicates by mailbox + slot, with batch-unique entry ids', () => {
    const [batch] = buildJobBatches([mailbox('support'), mailbox('invoices.de')], slot, VERSION);
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

  it('keeps a job small whatever the mailbox config holds: only the id travels', () => {
    const ca = 'x'.repeat(100 * 1024);
    const [batch] = buildJobBatches([mailbox('a', { ca }), mailbox('b', { ca })], slot, VERSION);
    for (const entry of batch ?? []) {
      expect(Buffer.byteLength(entry.MessageBody)).toBeLessThan(200);
      expect(entry.MessageBody).not.toContain('pop.example.com');
    }
    const bytes = (batch ?? []).reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody), 0);
    expect(bytes).toBeLessThanOrEqual(JOB_MAX_BATCH_BYTES);
  });

  it('sends nothing when there are no mailboxes', () => {
    expect(buildJobBatches([], slot, VERSION)).toEqual([]);
  });
});

describe('job format', () => {
  const slot = new Date('2025-03-04T10:05:00Z');
  const valid = {
    version: JOB_FORMAT_VERSION,
    mailboxId: 'a',
    slot: '2025-03-04T10:05:00Z',
    configVersion: VERSION,
  };

  it('round-trips the mailbox id, the slot and the config version', () => {
    expect(decodeJob(encodeJob('support.eu', slot, VERSION))).toEqual({
      version: JOB_FORMAT_VERSION,
      mailboxId: 'support.eu',
      slot: '2025-03-04T10:05:00.000Z',
      configVersion: VERSION,
    });
  });

  it('carries what identifies the work and nothing else', () => {
    const body = JSON.parse(encodeJob('support', slot, VERSION));
    expect(Object.keys(body).sort()).toEqual(['configVersion', 'mailboxId', 'slot', 'version']);
    expect(body.version).toBe(2);
  });

  it.each([
    ['not JSON', 'hello'],
    ['not an object', '42'],
    ['an array', '[]'],
    [
      'of format 1 (a whole mailbox config)',
      JSON.stringify({ version: 1, mailbox: { id: 'a' }, slot: valid.slot }),
    ],
    ['another version', JSON.stringify({ ...valid, version: 3 })],
    [
      'a job with a mailbox config beside the id',
      JSON.stringify({ ...valid, mailbox: { host: 'evil.example' } }),
    ],
    [
      'a job with a host and port beside the id',
      JSON.stringify({ ...valid, host: 'evil.example', port: 110 }),
    ],
    [
      'a job with a password beside the id',
      JSON.stringify({ ...valid, password: { env: 'AWS_SECRET_ACCESS_KEY' } }),
    ],
    ['without a mailbox id', JSON.stringify({ ...valid, mailboxId: undefined })],
    ['a mailbox id the schema does not allow', JSON.stringify({ ...valid, mailboxId: '../a' })],
    ['a mailbox id longer than 64 characters', JSON.stringify({ ...valid, mailboxId: 'a'.repeat(65) })],
    ['a bad slot', JSON.stringify({ ...valid, slot: 'soon' })],
    ['no config version', JSON.stringify({ ...valid, configVersion: undefined })],
    ['a config version that is no SHA-256', JSON.stringify({ ...valid, configVersion: 'latest' })],
  ])('rejects a body that is %s', (_, body) => {
    expect(() => decodeJob(body)).toThrow(JobFormatError);
  });

  it('names no value of a rejected body in its error', () => {
    const body = JSON.stringify({ ...valid, version: 'hunter2', password: { literal: 'hunter2' } });
    expect(() => decodeJob(body)).toThrow(JobFormatError);
    try {
      decodeJob(body);
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
    const extra = JSON.stringify({ ...valid, 'hunter2-key': 1 });
    expect(() => decodeJob(extra)).toThrow(/1 key\(s\) a job does not have/);
  });
});
