import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createPollMetrics,
  droppedJobMetric,
  type MetricSet,
  outcomeMetrics,
  pollFailureMetric,
  publishMetricSets,
} from '../../../lib/lambda/metrics.ts';
import type { MailboxOutcome } from '../../../lib/pipeline/outcome.ts';

const context = { service: 'intake' };

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

type EmfDocument = Record<string, unknown> & {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
};

/** Every line Powertools writes to stdout while publishing, and the warnings it gives its logger. */
let lines: string[];
let warnings: unknown[][];
beforeEach(() => {
  lines = [];
  warnings = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Publishes the sets through Powertools Metrics and returns the EMF documents it wrote, one per line. */
function publish(sets: readonly MetricSet[]): EmfDocument[] {
  const logger = {
    debug() {},
    info() {},
    error() {},
    warn: (...content: unknown[]) => warnings.push(content),
  };
  const before = lines.length;
  publishMetricSets(createPollMetrics('MailboxPoller', 'intake', logger), sets);
  const written = lines.slice(before);
  for (const line of written) {
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
  }
  return written.map((line) => JSON.parse(line) as EmfDocument);
}

/** Every name listed in `_aws` must be a root key, or CloudWatch drops the document. */
function expectValidEmf(doc: EmfDocument): void {
  const directive = (
    doc['_aws'] as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
  ).CloudWatchMetrics[0]!;
  for (const set of directive.Dimensions) for (const key of set) expect(typeof doc[key]).toBe('string');
  for (const metric of directive.Metrics) expect(typeof doc[metric.Name]).toBe('number');
}

describe('EMF for one polled mailbox', () => {
  it('publishes the run counts per service and per mailbox, with no dimension Powertools adds itself', () => {
    const started = Date.now();
    const [doc, ...rest] = publish(outcomeMetrics(outcome({}), context));
    expect(rest).toEqual([]);
    expect(doc?._aws.Timestamp).toBeGreaterThanOrEqual(started);
    expect(doc).toEqual({
      _aws: {
        Timestamp: doc?._aws.Timestamp,
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
    expectValidEmf(doc!);
    expect(doc).not.toHaveProperty('service');
    expect(warnings).toEqual([]);
  });

  it('counts an auth failure', () => {
    const [doc] = publish(outcomeMetrics(outcome({ status: 'auth-failed', reason: 'auth' }), context));
    expect(doc?.['AuthFailures']).toBe(1);
  });

  it('adds a PollFailures point with the reason when the poll did not finish', () => {
    const docs = publish(outcomeMetrics(outcome({ status: 'retry-later', reason: 'IN-USE' }), context));
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
    expectValidEmf(failure);
    expect(failure._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'PollFailures', Unit: 'Count' }]);
    expect(warnings).toEqual([]);
  });

  it('uses the status as the reason when the outcome gives none', () => {
    const docs = publish(outcomeMetrics(outcome({ status: 'failed' }), context));
    expect(docs[1]?.['Reason']).toBe('failed');
  });

  it('counts the uncommitted messages of a partial run, and the run as a PollFailure', () => {
    const counts = { ...outcome({}).counts, uncommitted: 2 };
    const docs = publish(outcomeMetrics(outcome({ status: 'partial', counts }), context));
    expect(docs[0]?.['UncommittedMessages']).toBe(2);
    expect(docs[1]).toMatchObject({ PollFailures: 1, Reason: 'partial', MailboxId: 'support' });
    const withReason = publish(
      outcomeMetrics(outcome({ status: 'partial', reason: 'uncommitted', counts }), context),
    );
    expect(withReason[1]?.['Reason']).toBe('uncommitted');
  });

  it('counts a dropped job per service and reason only: its mailbox id is not trusted', () => {
    const [doc] = publish([droppedJobMetric(context, 'unknown-mailbox')]);
    expect(doc).toMatchObject({ Service: 'intake', Reason: 'unknown-mailbox', DroppedJobs: 1 });
    expect(doc?.['MailboxId']).toBeUndefined();
    expect(doc?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Service'], ['Service', 'Reason']]);
    expectValidEmf(doc!);
  });

  it('can record a failure that belongs to no mailbox', () => {
    const [doc] = publish([pollFailureMetric(context, 'config-unavailable')]);
    expect(doc?.['MailboxId']).toBeUndefined();
    expect(doc?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Service'], ['Service', 'Reason']]);
    expectValidEmf(doc!);
  });
});

describe('publishing', () => {
  it('writes one JSON document per set, each on its own line, in the namespace given', () => {
    const docs = publish(outcomeMetrics(outcome({ status: 'failed', reason: 'network' }), context));
    expect(docs).toHaveLength(2);
    for (const doc of docs) expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe('MailboxPoller');
  });

  it('passes on the warnings Powertools gives about a bad metric set', () => {
    publish([
      {
        dimensionSets: [['Service']],
        dimensions: { Service: '' },
        metrics: [{ name: 'PollFailures', unit: 'Count', value: 1 }],
      },
    ]);
    expect(warnings.flat().join(' ')).toContain('dimension Service');
  });
});
