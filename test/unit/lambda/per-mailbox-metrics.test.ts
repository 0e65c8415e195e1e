import { describe, expect, it } from 'vitest';
import { readPollEnv } from '../../../lib/lambda/env.ts';
import { outcomeMetrics } from '../../../lib/lambda/metrics.ts';
import type { MailboxOutcome } from '../../../lib/pipeline/outcome.ts';

const failed: MailboxOutcome = {
  mailboxId: 'support',
  status: 'retry-later',
  reason: 'IN-USE',
  counts: {
    found: 0,
    retrieved: 0,
    bytesRetrieved: 0,
    stored: 0,
    notified: 0,
    deleted: 0,
    skipped: 0,
    left: 0,
    uncommitted: 0,
  },
  skipped: [],
  quitConfirmed: false,
  durationMs: 5,
};

describe('poll metrics per mailbox, or per service only', () => {
  it('publishes per Service and per Service + MailboxId by default', () => {
    const sets = outcomeMetrics(failed, { service: 'svc' });
    expect(sets.map((set) => set.dimensionSets)).toEqual([
      [['Service'], ['Service', 'MailboxId']],
      [['Service'], ['Service', 'Reason'], ['Service', 'MailboxId', 'Reason']],
    ]);
  });

  it('names no MailboxId in any dimension set when per-mailbox metrics are off', () => {
    const sets = outcomeMetrics(failed, { service: 'svc', perMailbox: false });
    for (const set of sets) {
      for (const names of set.dimensionSets) expect(names).not.toContain('MailboxId');
    }
    expect(sets.map((set) => set.dimensionSets)).toEqual([
      [['Service']],
      [['Service'], ['Service', 'Reason']],
    ]);
  });

  it('reads PER_MAILBOX_METRICS: only "true" turns them on; unset is off, as the construct defaults', () => {
    const base = {
      MESSAGE_BUCKET: 'b',
      NOTIFICATION_QUEUE_URL: 'n',
      JOB_QUEUE_URL: 'j',
      CONFIG_BUCKET: 'c',
      CONFIG_KEY: 'k',
    };
    expect(readPollEnv(base).perMailboxMetrics).toBe(false);
    expect(readPollEnv({ ...base, PER_MAILBOX_METRICS: '' }).perMailboxMetrics).toBe(false);
    expect(readPollEnv({ ...base, PER_MAILBOX_METRICS: 'true' }).perMailboxMetrics).toBe(true);
    expect(readPollEnv({ ...base, PER_MAILBOX_METRICS: 'false' }).perMailboxMetrics).toBe(false);
    expect(() => readPollEnv({ ...base, PER_MAILBOX_METRICS: 'yes' })).toThrow(
      'PER_MAILBOX_METRICS must be true or false, got yes',
    );
  });
});
