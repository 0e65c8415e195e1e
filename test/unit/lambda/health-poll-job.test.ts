/**
 * The poll function's side of the circuit breaker (lib/lambda/poll-job.ts, disposition.ts, metrics.ts):
 * a mailbox that needs a person has its job deleted, not retried into the DLQ; every mailbox run, held
 * back or not, publishes one MailboxHealth data point by State, never per mailbox.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { MailboxConfig } from '../../../lib/config/types.ts';
import { Deadline } from '../../../lib/deadline.ts';
import { heldBackOutcome } from '../../../lib/health/guarded-poll.ts';
import { encodeJob } from '../../../lib/lambda/job.ts';
import type { MetricSet } from '../../../lib/lambda/metrics.ts';
import { type PollJobDeps, processJobRecords } from '../../../lib/lambda/poll-job.ts';
import { emptyCounts, type MailboxOutcome } from '../../../lib/pipeline/outcome.ts';

const CONFIG_VERSION = 'c'.repeat(64);

function record(mailboxId: string): SQSRecord {
  return {
    messageId: `m-${mailboxId}`,
    receiptHandle: `handle-${mailboxId}`,
    body: encodeJob(mailboxId, new Date('2026-03-01T10:05:00Z'), CONFIG_VERSION),
    attributes: { ApproximateReceiveCount: '1', MessageGroupId: mailboxId },
  } as unknown as SQSRecord;
}

function outcome(fields: Partial<MailboxOutcome>): MailboxOutcome {
  return {
    mailboxId: 'box',
    status: 'ok',
    counts: emptyCounts(),
    skipped: [],
    quitConfirmed: true,
    durationMs: 5,
    ...fields,
  };
}

/** Polls one job whose poll returns `result`; what SQS is told, what was published and logged. */
async function run(result: MailboxOutcome) {
  const sets: MetricSet[] = [];
  const logs: { msg: string; data?: object }[] = [];
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const deps: PollJobDeps = {
    deployedMailboxes: async () => ({
      version: CONFIG_VERSION,
      byId: new Map([['box', { id: 'box' } as MailboxConfig]]),
      read: false,
    }),
    poll: async () => result,
    changeVisibility: async () => undefined,
    emitMetrics: (published) => sets.push(...published),
    metricContext: () => ({ service: 'svc', perMailbox: false }),
    logger: log,
    loggerFor: () => ({
      ...log,
      error: (msg: string, data?: object) => logs.push({ msg, ...(data ? { data } : {}) }),
    }),
    newRunId: () => 'run',
    retryPolicy: { maxReceiveCount: 5 },
  };
  const response = await processJobRecords([record('box')], Deadline.never(), deps);
  const health = sets.filter((set) => set.metrics.some((metric) => metric.name === 'MailboxHealth'));
  return { response, sets, health, logs };
}

describe('the poll function and the circuit breaker', () => {
  it('the run that opened the breaker consumes its job: no retry, no DLQ', async () => {
    const opened = await run(
      outcome({ status: 'failed', reason: 'tls', health: { state: 'needs-attention', nextAttemptAt: 'x' } }),
    );
    expect(opened.response.batchItemFailures).toEqual([]);
    expect(opened.logs[0]?.data).toMatchObject({
      health: 'needs-attention',
      nextAttemptAt: 'x',
      disposition: { action: 'delete', consumedBecause: 'needs-attention' },
    });
    // The same failure while the breaker is still closed is retried as before.
    const retrying = await run(outcome({ status: 'failed', reason: 'tls', health: { state: 'retrying' } }));
    expect(retrying.response.batchItemFailures).toEqual([{ itemIdentifier: 'm-box' }]);
  });

  it('a held-back run publishes only MailboxHealth (needs-attention), by State and Service, never per mailbox', async () => {
    const held = heldBackOutcome(
      {
        mailboxId: 'box',
        state: 'needs-attention',
        since: '2026-03-01T10:00:00.000Z',
        failures: 1,
        reason: 'auth',
        nextAttemptAt: '2026-03-01T11:00:00.000Z',
      },
      3,
    );
    const { sets, response } = await run(held);
    expect(response.batchItemFailures).toEqual([]);
    expect(sets).toEqual([
      {
        dimensionSets: [['Service', 'State']],
        dimensions: { Service: 'svc', State: 'needs-attention' },
        metrics: [{ name: 'MailboxHealth', unit: 'Count', value: 1 }],
      },
    ]);
  });

  it('every polled run adds one MailboxHealth data point; without a record the outcome decides the state', async () => {
    const states = [];
    for (const result of [
      outcome({ health: { state: 'ok' } }),
      outcome({ status: 'retry-later', reason: 'network', health: { state: 'retrying' } }),
      outcome({ status: 'auth-failed', reason: 'auth' }),
      outcome({ status: 'retry-later', reason: 'IN-USE' }),
      outcome({}),
    ]) {
      const { health } = await run(result);
      expect(health).toHaveLength(1);
      expect(health[0]?.dimensionSets).toEqual([['Service', 'State']]);
      states.push(health[0]?.dimensions['State']);
    }
    expect(states).toEqual(['ok', 'retrying', 'needs-attention', 'retrying', 'ok']);
  });
});
