/** Keep mode's counts reach the Lambda metrics and the CLI summary; a drain-mode run has none of them. */
import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../../lib/cli/report.ts';
import { METRIC_NAMES, outcomeMetrics } from '../../../lib/lambda/metrics.ts';
import { emptyCounts, type MailboxOutcome } from '../../../lib/pipeline/outcome.ts';

const context = {
  namespace: 'MailboxPoller',
  service: 'intake',
  timestamp: new Date('2026-03-04T10:05:07Z'),
};

const outcome = (extra: Partial<MailboxOutcome> = {}): MailboxOutcome => ({
  mailboxId: 'archive',
  status: 'ok',
  counts: { ...emptyCounts(), found: 12, retrieved: 3, stored: 3, notified: 3, deleted: 2, left: 10 },
  skipped: [],
  quitConfirmed: true,
  durationMs: 120,
  ...extra,
});

describe('keep mode counts', () => {
  it('are published as MessagesKept, MessagesIngested and MessagesDeletedAfterDays', () => {
    const [doc] = outcomeMetrics(
      outcome({ keep: { kept: 9, ingested: 3, deletedAfterDays: 2, recordedByInitial: 0 } }),
      context,
    );
    const values = Object.fromEntries(doc!.metrics.map((metric) => [metric.name, metric.value]));
    expect(values).toMatchObject({
      [METRIC_NAMES.messagesKept]: 9,
      [METRIC_NAMES.messagesIngested]: 3,
      [METRIC_NAMES.messagesDeletedAfterDays]: 2,
    });
  });

  it('publish withheld deletions and reused unique-ids, 0 when the run had none, and name them in the CLI', () => {
    const withheld = {
      kept: 9,
      ingested: 1,
      deletedAfterDays: 0,
      recordedByInitial: 0,
      deletionWithheld: 4,
      reusedUidl: 1,
    };
    const valuesOf = (keep: MailboxOutcome['keep']) =>
      Object.fromEntries(
        outcomeMetrics(outcome({ keep }), context)[0]!.metrics.map((m) => [m.name, m.value]),
      );
    expect(valuesOf(withheld)).toMatchObject({
      [METRIC_NAMES.messagesDeletionWithheld]: 4,
      [METRIC_NAMES.reusedUidls]: 1,
    });
    expect(valuesOf({ kept: 9, ingested: 0, deletedAfterDays: 2, recordedByInitial: 0 })).toMatchObject({
      [METRIC_NAMES.messagesDeletionWithheld]: 0,
      [METRIC_NAMES.reusedUidls]: 0,
    });
    expect(formatSummary([outcome({ keep: withheld })], 'out')).toContain(
      '0 deleted after days, 1 reused unique-ids ingested as new, 4 not deleted (unproven))',
    );
  });

  it('are absent for a mailbox that is drained', () => {
    const [doc] = outcomeMetrics(outcome(), context);
    expect(doc!.metrics.map((metric) => metric.name)).not.toContain(METRIC_NAMES.messagesKept);
    expect(formatSummary([outcome()], 'out')).not.toContain('keep:');
  });

  it('are in the CLI summary line', () => {
    const summary = formatSummary(
      [outcome({ keep: { kept: 9, ingested: 3, deletedAfterDays: 2, recordedByInitial: 4 } })],
      'out',
    );
    expect(summary).toContain(
      '(keep: 9 kept, 3 newly ingested, 2 deleted after days, 4 recorded without ingesting (initial))',
    );
  });
});
