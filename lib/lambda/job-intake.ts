/**
 * What the poll function checks before it polls anything: that the job is a job of this version, and
 * that the mailbox it names is in the deployed config. A job failing either check is dropped (deleted,
 * never retried: it would fail the same way on every receive) with a warning and a DroppedJobs metric.
 * Nothing in a dropped job is acted on, and nothing of its body beyond the checked id reaches a log line.
 */
import type { SQSRecord } from 'aws-lambda';
import type { MailboxConfig } from '../config/types.ts';
import { DeployedConfigError, type DeployedMailboxes } from './deployed-mailboxes.ts';
import { decideDisposition, type JobDisposition, type RetryPolicy } from './disposition.ts';
import { decodeJob, JobFormatError, type PollJob } from './job.ts';
import type { RunLogger } from './logger.ts';
import {
  type DropReason,
  droppedJobMetric,
  type MetricContext,
  type MetricSet,
  pollFailureMetric,
} from './metrics.ts';

export interface JobIntakeDeps {
  /** The deployed mailboxes for a job dispatched from config version `configVersion`. */
  deployedMailboxes(configVersion: string): Promise<DeployedMailboxes>;
  emitMetrics(sets: readonly MetricSet[]): void;
  metricContext(): MetricContext;
  readonly logger: RunLogger;
  readonly retryPolicy: RetryPolicy;
}

/** Either the job and its deployed mailbox, or what to do with a job that will not be polled. */
export type Intake =
  | { readonly job: PollJob; readonly mailbox: MailboxConfig }
  | { readonly disposition: JobDisposition };

export function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isFinite(count) && count >= 1 ? count : 1;
}

export async function takeJob(record: SQSRecord, deps: JobIntakeDeps): Promise<Intake> {
  const jobMessageId = record.messageId;
  let job: PollJob;
  try {
    job = decodeJob(record.body);
  } catch (error) {
    if (!(error instanceof JobFormatError)) throw error;
    // The error itself (name, message, stack): its message names the problem, never the body's content.
    return drop('bad-job', { jobMessageId, error }, deps);
  }

  let deployed: DeployedMailboxes;
  try {
    deployed = await deps.deployedMailboxes(job.configVersion);
  } catch (error) {
    // Unreadable or invalid config: no mailbox can be polled until it is fixed (the dispatcher alarms too).
    deps.logger.error('deployed config unavailable', {
      jobMessageId,
      error,
      ...(error instanceof DeployedConfigError ? { problems: error.problems } : {}),
    });
    deps.emitMetrics([pollFailureMetric(deps.metricContext(), 'config-unavailable')]);
    return {
      disposition: decideDisposition({ status: 'retry-later' }, receiveCountOf(record), deps.retryPolicy),
    };
  }
  if (deployed.read && deployed.version !== job.configVersion) {
    // The config was edited after this job was dispatched: the deployed one is what counts.
    deps.logger.info('config changed since the job was dispatched', {
      jobMessageId,
      jobConfigVersion: job.configVersion,
      configVersion: deployed.version,
    });
  }
  const mailbox = deployed.byId.get(job.mailboxId);
  if (mailbox === undefined) {
    // Not `mailboxId`: that key marks the lines of a real run, and this id names no deployed mailbox.
    return drop('unknown-mailbox', { jobMessageId, claimedMailboxId: job.mailboxId, slot: job.slot }, deps);
  }
  return { job, mailbox };
}

function drop(reason: DropReason, details: Record<string, unknown>, deps: JobIntakeDeps): Intake {
  const disposition: JobDisposition = { action: 'delete', consumedBecause: reason };
  deps.logger.warn('job dropped', { reason, ...details, disposition });
  deps.emitMetrics([droppedJobMetric(deps.metricContext(), reason)]);
  return { disposition };
}
