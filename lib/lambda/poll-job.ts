/**
 * The poll step for a batch of SQS job records: take each job (job-intake.ts: a job of this version for a
 * deployed mailbox, else dropped), poll that mailbox with its deployed settings, publish its metrics, and
 * tell SQS what to do with the job (see disposition.ts).
 *
 * A batch (the event source's batchSize, up to 10 on a FIFO queue) is polled concurrently, one mailbox
 * per SQS message group. FIFO order matters only within a group: there, once a record fails, every later
 * record of that group is reported failed too, so SQS hands them back in order. Other groups are not
 * held back: a failing mailbox is retried alone (partial batch response). A batch may hold several jobs
 * of one group (later slots of the same mailbox); that mailbox is polled once and its later jobs share
 * the outcome, so no mailbox is ever polled twice at once, even by jobs of different groups naming it.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { emptyCounts, type MailboxOutcome } from '../pipeline/outcome.ts';
import { decideDisposition, type JobDisposition } from './disposition.ts';
import { type Intake, type JobIntakeDeps, receiveCountOf, takeJob } from './job-intake.ts';
import type { RunLogger } from './logger.ts';
import { healthStateOf, mailboxHealthMetric, outcomeMetrics } from './metrics.ts';

export interface PollJobDeps extends JobIntakeDeps {
  poll(mailbox: MailboxConfig, deadline: Deadline, logger: RunLogger): Promise<MailboxOutcome>;
  /** ChangeMessageVisibility on the job queue. */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): Promise<void>;
  /** A logger whose every line carries these keys. */
  loggerFor(keys: { mailboxId: string; runId: string }): RunLogger;
  newRunId(): string;
}

/** An outcome for a poll that threw instead of returning one (a defect, so: failed, and to the DLQ). */
export function crashedOutcome(mailboxId: string, error: unknown, durationMs: number): MailboxOutcome {
  return {
    mailboxId,
    status: 'failed',
    reason: 'crash',
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    counts: emptyCounts(),
    skipped: [],
    quitConfirmed: false,
    durationMs,
  };
}

/** Polls one job; resolves with what should happen to it. */
export async function processJobRecord(
  record: SQSRecord,
  deadline: Deadline,
  deps: PollJobDeps,
): Promise<JobDisposition> {
  const intake = await takeJob(record, deps);
  if ('disposition' in intake) return intake.disposition;
  return pollJob(record, intake, deadline, deps);
}

/** Polls the mailbox of a job that passed intake, publishes its metrics, logs and decides its fate. */
async function pollJob(
  record: SQSRecord,
  intake: Exclude<Intake, { disposition: JobDisposition }>,
  deadline: Deadline,
  deps: PollJobDeps,
): Promise<JobDisposition> {
  const { job, mailbox } = intake;
  const receiveCount = receiveCountOf(record);

  const runId = deps.newRunId();
  const logger = deps.loggerFor({ mailboxId: mailbox.id, runId });
  logger.info('poll started', { slot: job.slot, receiveCount, jobMessageId: record.messageId });
  const startedAt = performance.now();
  let outcome: MailboxOutcome;
  try {
    outcome = await deps.poll(mailbox, deadline, logger);
  } catch (error) {
    logger.error('poll threw', { error });
    outcome = crashedOutcome(mailbox.id, error, Math.round(performance.now() - startedAt));
  }
  const metricContext = deps.metricContext();
  const health = healthStateOf(outcome);
  deps.emitMetrics([...outcomeMetrics(outcome, metricContext), mailboxHealthMetric(metricContext, health)]);

  const disposition = decideDisposition(outcome, receiveCount, deps.retryPolicy);
  const summary = {
    status: outcome.status,
    reason: outcome.reason,
    health,
    ...(outcome.health?.nextAttemptAt === undefined ? {} : { nextAttemptAt: outcome.health.nextAttemptAt }),
    // Not `message`: that key is the log line's own text, and the logger drops a second one.
    detail: outcome.message,
    counts: outcome.counts,
    skipped: outcome.skipped,
    quitConfirmed: outcome.quitConfirmed,
    durationMs: outcome.durationMs,
    disposition,
  };
  if (outcome.status === 'ok') logger.info('poll finished', summary);
  else if (outcome.status === 'retry-later') logger.warn('poll incomplete, will retry', summary);
  else logger.error('poll failed', summary);
  return disposition;
}

/** The SQS message group of a record; a record without one (not a FIFO queue) is a group of its own. */
function groupOf(record: SQSRecord): string {
  const group = (record.attributes as { MessageGroupId?: string }).MessageGroupId;
  return group === undefined || group === '' ? `record:${record.messageId}` : `group:${group}`;
}

/** Records by message group, each group's records in the order SQS delivered them. */
export function groupRecords(records: readonly SQSRecord[]): SQSRecord[][] {
  const groups = new Map<string, SQSRecord[]>();
  for (const record of records) {
    const key = groupOf(record);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [record]);
    else group.push(record);
  }
  return [...groups.values()];
}

export async function processJobRecords(
  records: readonly SQSRecord[],
  deadline: Deadline,
  deps: PollJobDeps,
): Promise<SQSBatchResponse> {
  /** One poll per mailbox per batch: every job naming a mailbox already polled here waits for that poll. */
  const polls = new Map<string, Promise<JobDisposition>>();
  const pollOnce = (record: SQSRecord, intake: Exclude<Intake, { disposition: JobDisposition }>) => {
    const earlier = polls.get(intake.mailbox.id);
    if (earlier !== undefined) {
      deps.logger.info('job for a mailbox already polled in this batch: it shares that outcome', {
        jobMessageId: record.messageId,
        claimedMailboxId: intake.job.mailboxId,
        slot: intake.job.slot,
      });
      return earlier;
    }
    const poll = pollJob(record, intake, deadline, deps);
    polls.set(intake.mailbox.id, poll);
    return poll;
  };

  const failures = await Promise.all(
    groupRecords(records).map(async (group) => {
      const failed: { record: SQSRecord; delaySeconds: number }[] = [];
      for (const record of group) {
        const previous = failed.at(-1);
        if (previous !== undefined) {
          // FIFO: a later job of a failed group goes back with it, after the same delay.
          failed.push({ record, delaySeconds: previous.delaySeconds });
          continue;
        }
        const intake = await takeJob(record, deps);
        const disposition = 'disposition' in intake ? intake.disposition : await pollOnce(record, intake);
        if (disposition.action === 'retry') {
          failed.push({ record, delaySeconds: disposition.visibilityTimeoutSeconds });
        }
      }
      return failed;
    }),
  );

  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const { record, delaySeconds } of failures.flat()) {
    batchItemFailures.push({ itemIdentifier: record.messageId });
    try {
      await deps.changeVisibility(record.receiptHandle, delaySeconds);
    } catch (error) {
      // The job still comes back, only after the queue's own visibility timeout.
      deps.logger.warn('could not set the retry delay', { jobMessageId: record.messageId, error });
    }
  }
  return { batchItemFailures };
}
