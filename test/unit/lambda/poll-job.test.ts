import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { MailboxConfig } from '../../../lib/config/types.ts';
import { Deadline } from '../../../lib/deadline.ts';
import { encodeJob, JobFormatError } from '../../../lib/lambda/job.ts';
import type { MetricSet } from '../../../lib/lambda/metrics.ts';
import { type PollJobDeps, processJobRecords } from '../../../lib/lambda/poll-job.ts';
import type { MailboxOutcome, OutcomeStatus } from '../../../lib/pipeline/outcome.ts';
import type { OutcomeReason } from '../../../lib/pipeline/reasons.ts';

const slot = new Date('2025-03-04T10:05:00Z');
const CONFIG_VERSION = 'c'.repeat(64);

/** A job record as the FIFO queue delivers it: its message group is the mailbox id, as dispatch sets it. */
function record(
  messageId: string,
  mailboxId: string,
  receiveCount = 1,
  body?: string,
  options: { group?: string; slot?: Date } = {},
): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: body ?? encodeJob(mailboxId, options.slot ?? slot, CONFIG_VERSION),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      MessageGroupId: options.group ?? mailboxId,
    },
  } as unknown as SQSRecord;
}

function outcome(mailboxId: string, status: OutcomeStatus, reason?: OutcomeReason): MailboxOutcome {
  return {
    mailboxId,
    status,
    ...(reason ? { reason } : {}),
    counts: {
      found: 1,
      retrieved: 1,
      bytesRetrieved: 10,
      stored: 1,
      notified: 1,
      deleted: 1,
      skipped: 0,
      left: 0,
      uncommitted: 0,
    },
    skipped: [],
    quitConfirmed: status === 'ok',
    durationMs: 5,
  };
}

/** The deployed settings of a mailbox: what the poll must use, whatever the job says. */
function deployedMailbox(id: string): MailboxConfig {
  return { id, host: `${id}.pop.example.com`, credential: { secretId: `mail/${id}` } } as MailboxConfig;
}

/**
 * A poll function whose outcome per mailbox is scripted, recording everything the handler does. Every
 * mailbox with a scripted outcome is in the deployed config.
 */
function harness(outcomes: Record<string, OutcomeStatus | Error>) {
  const polled: string[] = [];
  const polledHosts: string[] = [];
  const configLookups: string[] = [];
  const visibility: [string, number][] = [];
  /** Each published set flattened as its EMF document's root keys: dimension values and metric values. */
  const metrics: Record<string, unknown>[] = [];
  const flatten = (set: MetricSet) => ({
    ...set.dimensions,
    ...Object.fromEntries(set.metrics.map((metric) => [metric.name, metric.value])),
  });
  const logs: { level: string; msg: string; data?: object }[] = [];
  const log = (keys: object = {}) => ({
    info: (msg: string, data?: object) => logs.push({ level: 'info', msg, data: { ...keys, ...data } }),
    warn: (msg: string, data?: object) => logs.push({ level: 'warn', msg, data: { ...keys, ...data } }),
    error: (msg: string, data?: object) => logs.push({ level: 'error', msg, data: { ...keys, ...data } }),
  });
  const deps: PollJobDeps = {
    deployedMailboxes: async (configVersion) => {
      configLookups.push(configVersion);
      return {
        version: CONFIG_VERSION,
        byId: new Map(Object.keys(outcomes).map((id) => [id, deployedMailbox(id)])),
        read: false,
      };
    },
    poll: async (mailbox) => {
      polled.push(mailbox.id);
      polledHosts.push(mailbox.host);
      const scripted = outcomes[mailbox.id];
      if (scripted instanceof Error) throw scripted;
      return outcome(mailbox.id, scripted ?? 'ok', scripted === 'retry-later' ? 'IN-USE' : undefined);
    },
    changeVisibility: async (handle, seconds) => {
      visibility.push([handle, seconds]);
    },
    emitMetrics: (sets) => metrics.push(...sets.map(flatten)),
    metricContext: () => ({ service: 'test' }),
    logger: log(),
    loggerFor: (keys) => log(keys),
    newRunId: () => 'run-1',
    retryPolicy: { maxReceiveCount: 5 },
  };
  return { deps, polled, polledHosts, configLookups, visibility, metrics, logs };
}

describe('poll handler: the job after the poll', () => {
  it('acknowledges a drained mailbox: no batch item failure, no visibility change', async () => {
    const h = harness({ support: 'ok' });
    const response = await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(h.polled).toEqual(['support']);
    expect(h.visibility).toEqual([]);
  });

  it('hands a busy mailbox back with a delay that grows with the receive count', async () => {
    const h = harness({ support: 'retry-later' });
    const response = await processJobRecords([record('m1', 'support', 3)], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.visibility).toEqual([['handle-m1', 120]]);
    expect(h.metrics.find((doc) => doc['PollFailures'] === 1)).toMatchObject({ Reason: 'IN-USE' });
  });

  it('consumes a job whose credentials were refused and counts the auth failure', async () => {
    const h = harness({ support: 'auth-failed' });
    const response = await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(h.metrics[0]?.['AuthFailures']).toBe(1);
    expect(h.logs.some((line) => line.level === 'error' && line.msg === 'poll failed')).toBe(true);
  });

  it("carries the outcome's sentence as `detail`, since the logger keeps `message` for the line's own text", async () => {
    const h = harness({
      support: new Error('secret "mail/support" has no non-empty string field "password"'),
    });
    await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    const failed = h.logs.find((line) => line.msg === 'poll failed');
    expect(failed?.data).toMatchObject({
      detail: 'Error: secret "mail/support" has no non-empty string field "password"',
    });
    expect(failed?.data).not.toHaveProperty('message');
  });

  it('reports a failed poll as a batch item failure so SQS can redrive it to the DLQ', async () => {
    const h = harness({ support: 'failed' });
    const response = await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });

  it('treats a poll that throws as failed, with reason crash', async () => {
    const h = harness({ support: new TypeError('boom') });
    const response = await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.metrics.find((doc) => doc['PollFailures'] === 1)).toMatchObject({ Reason: 'crash' });
  });

  it('retries a failing mailbox of a batch alone: the other groups are polled and acknowledged', async () => {
    const h = harness({ a: 'ok', b: 'failed', c: 'ok' });
    const records = [record('m1', 'a'), record('m2', 'b'), record('m3', 'c')];
    const response = await processJobRecords(records, Deadline.never(), h.deps);
    expect([...h.polled].sort()).toEqual(['a', 'b', 'c']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
    expect(h.visibility).toEqual([['handle-m2', 30]]);
  });

  it('still reports the failure when the visibility change itself fails', async () => {
    const h = harness({ support: 'retry-later' });
    h.deps.changeVisibility = async () => {
      throw new Error('throttled');
    };
    const response = await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.logs.some((line) => line.level === 'warn' && line.msg === 'could not set the retry delay')).toBe(
      true,
    );
  });

  it('logs every line of a run with the mailbox id and run id', async () => {
    const h = harness({ support: 'ok' });
    await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    const runLines = h.logs.filter((line) => line.msg.startsWith('poll'));
    expect(runLines.length).toBeGreaterThanOrEqual(2);
    for (const line of runLines) expect(line.data).toMatchObject({ mailboxId: 'support', runId: 'run-1' });
  });
});

describe('poll handler: jobs that are not polled', () => {
  it('polls the deployed settings of the mailbox the job names, looked up by its config version', async () => {
    const h = harness({ support: 'ok' });
    await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    expect(h.configLookups).toEqual([CONFIG_VERSION]);
    expect(h.polledHosts).toEqual(['support.pop.example.com']);
  });

  it.each([
    ['not JSON', '{oops'],
    [
      'of format 1, carrying a whole mailbox',
      JSON.stringify({ version: 1, mailbox: { id: 'support' }, slot }),
    ],
    [
      'a job with a host beside its id',
      JSON.stringify({ ...JSON.parse(encodeJob('support', slot, CONFIG_VERSION)), host: '203.0.113.9' }),
    ],
  ])('drops a job that is %s: deleted, warned about, counted, nothing read or polled', async (_, body) => {
    const h = harness({ support: 'ok' });
    const response = await processJobRecords([record('m1', 'support', 1, body)], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(h.polled).toEqual([]);
    expect(h.configLookups).toEqual([]);
    expect(h.logs).toEqual([
      {
        level: 'warn',
        msg: 'job dropped',
        data: expect.objectContaining({
          reason: 'bad-job',
          jobMessageId: 'm1',
          error: expect.any(JobFormatError),
          disposition: expect.anything(),
        }),
      },
    ]);
    expect(h.metrics).toEqual([expect.objectContaining({ DroppedJobs: 1, Reason: 'bad-job' })]);
  });

  it('drops a job for a mailbox that is not deployed, with no metric dimension for its id', async () => {
    const h = harness({ support: 'ok' });
    const response = await processJobRecords([record('m1', 'intruder')], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(h.polled).toEqual([]);
    expect(h.logs).toEqual([
      {
        level: 'warn',
        msg: 'job dropped',
        data: expect.objectContaining({
          reason: 'unknown-mailbox',
          claimedMailboxId: 'intruder',
          disposition: { action: 'delete', consumedBecause: 'unknown-mailbox' },
        }),
      },
    ]);
    expect(h.metrics).toHaveLength(1);
    expect(h.metrics[0]).toMatchObject({ DroppedJobs: 1, Reason: 'unknown-mailbox' });
    expect(h.metrics[0]).not.toHaveProperty('MailboxId');
  });

  it('hands the job back when the deployed config cannot be read, logging the error itself', async () => {
    const h = harness({ support: 'ok' });
    const failure = new Error('AccessDenied');
    h.deps.deployedMailboxes = async () => {
      throw failure;
    };
    const response = await processJobRecords([record('m1', 'support', 2)], Deadline.never(), h.deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(h.visibility).toEqual([['handle-m1', 60]]);
    expect(h.polled).toEqual([]);
    expect(h.logs.find((line) => line.msg === 'deployed config unavailable')?.data).toMatchObject({
      error: failure,
    });
    expect(h.metrics).toEqual([expect.objectContaining({ PollFailures: 1, Reason: 'config-unavailable' })]);
  });

  it('logs the Error object when the retry delay cannot be set', async () => {
    const h = harness({ support: 'retry-later' });
    const failure = new Error('throttled');
    h.deps.changeVisibility = async () => {
      throw failure;
    };
    await processJobRecords([record('m1', 'support')], Deadline.never(), h.deps);
    const line = h.logs.find((entry) => entry.msg === 'could not set the retry delay');
    expect(line?.data).toMatchObject({ error: failure });
  });
});

describe('poll handler: a batch of jobs', () => {
  const later = new Date(slot.getTime() + 5 * 60_000);

  it('polls a mailbox once for two jobs of it in one batch and acknowledges both', async () => {
    const h = harness({ a: 'ok', b: 'ok' });
    const records = [record('m1', 'a'), record('m2', 'b'), record('m3', 'a', 1, undefined, { slot: later })];
    const response = await processJobRecords(records, Deadline.never(), h.deps);
    expect([...h.polled].sort()).toEqual(['a', 'b']);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('never polls one mailbox twice at once, even when jobs of different groups name it', async () => {
    const h = harness({ a: 'ok' });
    const active = new Map<string, number>();
    let mostAtOnce = 0;
    const scripted = h.deps.poll;
    h.deps.poll = async (mailbox, deadline, logger) => {
      const now = (active.get(mailbox.id) ?? 0) + 1;
      active.set(mailbox.id, now);
      mostAtOnce = Math.max(mostAtOnce, now);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active.set(mailbox.id, now - 1);
      return scripted(mailbox, deadline, logger);
    };
    const records = [
      record('m1', 'a', 1, undefined, { group: 'a' }),
      record('m2', 'a', 1, undefined, { group: 'forged', slot: later }),
    ];
    const response = await processJobRecords(records, Deadline.never(), h.deps);
    expect(mostAtOnce).toBe(1);
    expect(h.polled).toEqual(['a']);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('polls the mailboxes of one batch concurrently', async () => {
    const h = harness({ a: 'ok', b: 'ok', c: 'ok' });
    let active = 0;
    let mostAtOnce = 0;
    const scripted = h.deps.poll;
    h.deps.poll = async (mailbox, deadline, logger) => {
      active += 1;
      mostAtOnce = Math.max(mostAtOnce, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active -= 1;
      return scripted(mailbox, deadline, logger);
    };
    const records = [record('m1', 'a'), record('m2', 'b'), record('m3', 'c')];
    await processJobRecords(records, Deadline.never(), h.deps);
    expect(mostAtOnce).toBe(3);
  });

  it('keeps FIFO order within a group: a failed mailbox takes its later jobs back with it, polled once', async () => {
    const h = harness({ a: 'ok', b: 'retry-later' });
    const records = [
      record('m1', 'b', 2),
      record('m2', 'a'),
      record('m3', 'b', 1, undefined, { slot: later }),
    ];
    const response = await processJobRecords(records, Deadline.never(), h.deps);
    expect([...h.polled].sort()).toEqual(['a', 'b']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }]);
    // Both come back together, after the first job's backoff (receive count 2: 60 s).
    expect(h.visibility).toEqual([
      ['handle-m1', 60],
      ['handle-m3', 60],
    ]);
  });

  it('polls the next job of a group after a dropped one', async () => {
    const h = harness({ a: 'ok' });
    const records = [record('m1', 'a', 1, '{"not":"a job"}'), record('m2', 'a')];
    const response = await processJobRecords(records, Deadline.never(), h.deps);
    expect(h.polled).toEqual(['a']);
    expect(response.batchItemFailures).toEqual([]);
  });

  it('treats records without a message group (a standard queue) each on its own', async () => {
    const h = harness({ a: 'failed', b: 'ok' });
    const ungrouped = (messageId: string, mailboxId: string) => {
      const r = record(messageId, mailboxId);
      delete (r.attributes as { MessageGroupId?: string }).MessageGroupId;
      return r;
    };
    const response = await processJobRecords(
      [ungrouped('m1', 'a'), ungrouped('m2', 'b')],
      Deadline.never(),
      h.deps,
    );
    expect([...h.polled].sort()).toEqual(['a', 'b']);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });
});
