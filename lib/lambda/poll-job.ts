/**
 * The poll step for a batch of SQS job records: take each job (job-intake.ts: a job of this version for a
 * deployed mailbox, else dropped), poll that mailbox with its deployed settings, publish its metrics, and
 * tell SQS what to do with the job (see disposition.ts). The event source has batch size 1; more records
 * are handled the FIFO way: once one fails, every later record is reported failed too, so SQS keeps their
 * order.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { emptyCounts, type MailboxOutcome } from '../pipeline/outcome.ts';
import { decideDisposition, type JobDisposition } from './disposition.ts';
import { type JobIntakeDeps, receiveCountOf, takeJob } from './job-intake.ts';
import type { RunLogger } from './logger.ts';
import { outcomeMetrics } from './metrics.ts';

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
  deps.emitMetrics(outcomeMetrics(outcome, deps.metricContext()));

  const disposition = decideDisposition(outcome, receiveCount, deps.retryPolicy);
  const summary = {
    status: outcome.status,
    reason: outcome.reason,
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

export async function processJobRecords(
  records: readonly SQSRecord[],
  deadline: Deadline,
  deps: PollJobDeps,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of records) {
    if (batchItemFailures.length > 0) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    const disposition = await processJobRecord(record, deadline, deps);
    if (disposition.action === 'retry') {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      try {
        await deps.changeVisibility(record.receiptHandle, disposition.visibilityTimeoutSeconds);
      } catch (error) {
        // The job still comes back, only after the queue's own visibility timeout.
        deps.logger.warn('could not set the retry delay', { jobMessageId: record.messageId, error });
      }
    }
  }
  return { batchItemFailures };
}
