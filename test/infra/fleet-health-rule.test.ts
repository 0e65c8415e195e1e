/**
 * The Contributor Insights rule that names the failing mailboxes, checked two ways: its body against the
 * documented rule syntax, and its keys and filters against the log lines the poll handler really writes
 * (Powertools Logger, through processJobRecords), so a renamed log field cannot leave it counting nothing.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { MailboxConfig } from '../../lib/config/types.ts';
import { Deadline } from '../../lib/deadline.ts';
import { encodeJob } from '../../lib/lambda/job.ts';
import { asRunLogger, createLogger, runLogger } from '../../lib/lambda/logger.ts';
import { processJobRecords } from '../../lib/lambda/poll-job.ts';
import { emptyCounts, type MailboxOutcome } from '../../lib/pipeline/outcome.ts';
import { contributorsOf, insightRuleOf } from '../support/contributor-insights.ts';
import { captureOutput } from '../support/lambda-harness.ts';
import { synth } from './synth-helpers.ts';

/** The rule of the synthesized template, and the poll log group it must read. */
function synthesizedRule() {
  const { template, stack, ingestion } = synth();
  const pollLogGroup = stack.getLogicalId(ingestion.pollFunction.logGroup.node.defaultChild as never);
  return { ...insightRuleOf(template), pollLogGroup };
}

function record(mailboxId: string): SQSRecord {
  return {
    messageId: `m-${mailboxId}`,
    receiptHandle: `h-${mailboxId}`,
    body: encodeJob(mailboxId, new Date('2026-12-07T10:05:00Z'), 'c'.repeat(64)),
    attributes: { ApproximateReceiveCount: '1', MessageGroupId: mailboxId },
  } as unknown as SQSRecord;
}

const OUTCOMES: Record<string, Pick<MailboxOutcome, 'status' | 'reason'>> = {
  quiet: { status: 'ok' },
  busy: { status: 'retry-later', reason: 'IN-USE' },
  refused: { status: 'auth-failed', reason: 'auth' },
  broken: { status: 'failed', reason: 'server-error' },
};

/** One batch of four jobs through the poll handler with the real logger: the JSON lines it prints. */
async function realPollLogLines(): Promise<Record<string, unknown>[]> {
  const logger = createLogger();
  const output = captureOutput();
  try {
    await processJobRecords(Object.keys(OUTCOMES).map(record), Deadline.never(), {
      deployedMailboxes: async () => ({
        version: 'c'.repeat(64),
        byId: new Map(
          Object.keys(OUTCOMES).map((id) => [id, { id, host: 'pop.example.com' } as MailboxConfig]),
        ),
        read: false,
      }),
      poll: async (mailbox) => ({
        mailboxId: mailbox.id,
        ...OUTCOMES[mailbox.id]!,
        counts: emptyCounts(),
        skipped: [],
        quitConfirmed: OUTCOMES[mailbox.id]!.status === 'ok',
        durationMs: 410,
      }),
      changeVisibility: async () => {},
      emitMetrics: () => {},
      metricContext: () => ({ service: 'test' }),
      logger: asRunLogger(logger),
      loggerFor: (keys) => asRunLogger(runLogger(logger, keys)),
      newRunId: () => 'run-1',
      retryPolicy: { maxReceiveCount: 5 },
    });
  } finally {
    output.stop();
  }
  return output.logs();
}

describe('the Contributor Insights rule "failing mailboxes"', () => {
  const { properties, body, pollLogGroup } = synthesizedRule();

  it('is a CloudWatchLogRule over the poll log group alone, JSON, counting events, enabled', () => {
    expect(body.Schema).toEqual({ Name: 'CloudWatchLogRule', Version: 1 });
    expect(body.LogGroupNames).toEqual([`<ref:${pollLogGroup}>`]);
    expect(body.LogFormat).toBe('JSON');
    expect(body.AggregateOn).toBe('Count');
    expect(body.Contribution.Keys).toEqual(['$.mailboxId', '$.reason']);
    expect(body.Contribution.Filters).toEqual([
      { Match: '$.message', In: ['poll finished', 'poll incomplete, will retry', 'poll failed'] },
      { Match: '$.status', NotIn: ['ok'] },
    ]);
    // The syntax's limits: 4 keys, 4 filters, 10 values per In / NotIn, 8,192 characters in all.
    expect(body.Contribution.Keys.length).toBeLessThanOrEqual(4);
    expect(body.Contribution.Filters.length).toBeLessThanOrEqual(4);
    for (const filter of body.Contribution.Filters) {
      expect((filter.In ?? filter.NotIn ?? []).length).toBeLessThanOrEqual(10);
    }
    expect(JSON.stringify(body).length).toBeLessThanOrEqual(8192);
    expect(properties.RuleState).toBe('ENABLED');
    // Name: 1 to 128 printable ASCII characters, unique per account and region (from the construct path).
    expect(properties.RuleName).toMatch(/^[\x20-\x7E]{1,128}$/);
    expect(properties.RuleName).toContain('FleetHealth');
  });

  it('counts the real poll lines of runs not ok, by mailbox and reason, and nothing else', async () => {
    const lines = await realPollLogLines();
    // The batch wrote more than the last lines ("poll started" for each): those must not count.
    expect(lines.length).toBeGreaterThan(4);
    expect(contributorsOf(body, lines)).toEqual([
      ['broken', 'server-error'],
      ['busy', 'IN-USE'],
      ['refused', 'auth'],
    ]);
  });
});
