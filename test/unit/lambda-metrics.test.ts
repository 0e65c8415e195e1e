import { describe, expect, it } from 'vitest';
import {
  droppedJobMetric,
  emitMetrics,
  outcomeMetrics,
  pollFailureMetric,
} from '../../lib/lambda/metrics.ts';
import type { MailboxOutcome } from '../../lib/pipeline/outcome.ts';

const context = {
  namespace: 'MailboxPoller',
  service: 'intake',
  timestamp: new Date('2025-03-04T10:05:07Z'),
};

function outcome(extra: Partial<MailboxOutcome>): MailboxOutcome {
  return {
    mailboxId: 'support',
    status: 'ok',
    counts: {
      found: 7,
      retrieved: 5,
      bytesRetrieved: 12_345,
      stored: 5,
      notified: 5,
      deleted: 5,
      skipped: 1,
      left: 2,
      uncommitted: 0,
    },
    skipped: [],
    quitConfirmed: true,
    durationMs: 842,
    ...extra,
  };
}

/** Every name listed in `_aws` must be a root key, or CloudWatch drops the document. */
function expectValidEmf(doc: Record<string, unknown>): void {
  const directive = (
    doc['_aws'] as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
  ).CloudWatchMetrics[0]!;
  for (const set of directive.Dimensions) for (const key of set) expect(typeof doc[key]).toBe('string');
  for (const metric of directive.Metrics) expect(typeof doc[metric.Name]).toBe('number');
}

describe('EMF for one polled mailbox', () => {
  it('publishes the run counts per service and per mailbox', () => {
    const [doc, ...rest] = outcomeMetrics(outcome({}), context);
    expect(rest).toEqual([]);
    expect(doc).toEqual({
      _aws: {
        Timestamp: Date.parse('2025-03-04T10:05:07Z'),
        CloudWatchMetrics: [
          {
            Namespace: 'MailboxPoller',
            Dimensions: [['Service'], ['Service', 'MailboxId']],
            Metrics: [
              { Name: 'MessagesRetrieved', Unit: 'Count' },
              { Name: 'BytesRetrieved', Unit: 'Bytes' },
              { Name: 'MessagesLeft', Unit: 'Count' },
              { Name: 'MessagesSkipped', Unit: 'Count' },
              { Name: 'UncommittedMessages', Unit: 'Count' },
              { Name: 'AuthFailures', Unit: 'Count' },
              { Name: 'AuthRevoked', Unit: 'Count' },
              { Name: 'PollDuration', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      Service: 'intake',
      MailboxId: 'support',
      MessagesRetrieved: 5,
      BytesRetrieved: 12_345,
      MessagesLeft: 2,
      MessagesSkipped: 1,
      UncommittedMessages: 0,
      AuthFailures: 0,
      AuthRevoked: 0,
      PollDuration: 842,
    });
    expectValidEmf(doc as Record<string, unknown>);
  });

  it('counts an auth failure', () => {
    const [doc] = outcomeMetrics(outcome({ status: 'auth-failed', reason: 'auth' }), context);
    expect(doc?.['AuthFailures']).toBe(1);
  });

  it('adds a PollFailures point with the reason when the poll did not finish', () => {
    const docs = outcomeMetrics(outcome({ status: 'retry-later', reason: 'IN-USE' }), context);
    expect(docs).toHaveLength(2);
    const failure = docs[1]!;
    expect(failure).toMatchObject({
      Service: 'intake',
      MailboxId: 'support',
      Reason: 'IN-USE',
      PollFailures: 1,
    });
    expect(failure._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([
      ['Service'],
      ['Service', 'Reason'],
      ['Service', 'MailboxId', 'Reason'],
    ]);
    expectValidEmf(failure as Record<string, unknown>);
  });

  it('uses the status as the reason when the outcome gives none', () => {
    const docs = outcomeMetrics(outcome({ status: 'failed' }), context);
    expect(docs[1]?.['Reason']).toBe('failed');
  });

  it('counts the uncommitted messages of a partial run, and the run as a PollFailure', () => {
    const counts = { ...outcome({}).counts, uncommitted: 2 };
    const docs = outcomeMetrics(outcome({ status: 'partial', counts }), context);
    expect(docs[0]?.['UncommittedMessages']).toBe(2);
    expect(docs[1]).toMatchObject({ PollFailures: 1, Reason: 'partial', MailboxId: 'support' });
    const withReason = outcomeMetrics(outcome({ status: 'partial', reason: 'uncommitted', counts }), context);
    expect(withReason[1]?.['Reason']).toBe('uncommitted');
  });

  it('counts a dropped job per service and reason only: its mailbox id is not trusted', () => {
    const doc = droppedJobMetric(context, 'unknown-mailbox');
    expect(doc).toMatchObject({ Service: 'intake', Reason: 'unknown-mailbox', DroppedJobs: 1 });
    expect(doc['MailboxId']).toBeUndefined();
    expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Service'], ['Service', 'Reason']]);
    expectValidEmf(doc as Record<string, unknown>);
  });

  it('can record a failure that belongs to no mailbox', () => {
    const doc = pollFailureMetric(context, 'config-unavailable');
    expect(doc['MailboxId']).toBeUndefined();
    expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Service'], ['Service', 'Reason']]);
    expectValidEmf(doc as Record<string, unknown>);
  });
});

describe('emitting', () => {
  it('writes one JSON document per line', () => {
    const lines: string[] = [];
    emitMetrics(outcomeMetrics(outcome({ status: 'failed', reason: 'network' }), context), (line) =>
      lines.push(line),
    );
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      expect(line.slice(0, -1)).not.toContain('\n');
      expect(JSON.parse(line)._aws.CloudWatchMetrics[0].Namespace).toBe('MailboxPoller');
    }
  });
});
