/**
 * The dispatch step: read and validate the deployed config, then send one poll job per mailbox to the
 * FIFO job queue. Safe to run twice for one scheduled time: the deduplication id is mailbox + slot.
 * A job names the mailbox and the config version read here; the poll function takes every setting from
 * the deployed config itself (lib/lambda/deployed-mailboxes.ts).
 */
import type { ConfigDocument } from './config-source.ts';
import { DeployedConfigError, validateDeployedConfig } from './deployed-mailboxes.ts';
import { buildJobBatches, type JobEntry, scheduleSlot } from './job.ts';
import type { RunLogger } from './logger.ts';

export interface FailedEntry {
  readonly id: string;
  readonly code: string;
  readonly senderFault: boolean;
}

export interface DispatchDeps {
  readConfig(): Promise<ConfigDocument>;
  /** One SendMessageBatch call; resolves with the entries SQS did not accept. */
  sendBatch(entries: readonly JobEntry[]): Promise<readonly FailedEntry[]>;
  readonly logger: RunLogger;
}

export interface DispatchRequest {
  readonly scheduledTime: Date;
  readonly periodSeconds: number;
}

export interface DispatchResult {
  readonly slot: string;
  readonly jobsSent: number;
  readonly batches: number;
  /** SHA-256 of the config text the jobs were built from; every job carries it. */
  readonly configVersion: string;
}

export class DispatchError extends Error {
  override readonly name = 'DispatchError';
}

/** The scheduled time from a Scheduler input (`scheduledTime`) or an EventBridge event (`time`). */
export function scheduledTimeOf(event: unknown): Date | undefined {
  const record = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  for (const field of ['scheduledTime', 'time']) {
    const value = record[field];
    if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value);
  }
  return undefined;
}

export async function dispatchJobs(request: DispatchRequest, deps: DispatchDeps): Promise<DispatchResult> {
  const { document, version } = await deps.readConfig();
  let mailboxes: Awaited<ReturnType<typeof validateDeployedConfig>>['mailboxes'];
  try {
    mailboxes = validateDeployedConfig(document).mailboxes;
  } catch (error) {
    if (error instanceof DeployedConfigError) {
      for (const problem of error.problems) deps.logger.error('invalid mailbox config', { problem });
    }
    throw error;
  }

  const slot = scheduleSlot(request.scheduledTime, request.periodSeconds);
  const batches = buildJobBatches(mailboxes, slot, version);
  const undelivered: string[] = [];
  for (const batch of batches) {
    let failed = await deps.sendBatch(batch);
    // Throttling and service errors are worth one more try; a sender fault would fail the same way again.
    const retryable = failed.filter((entry) => !entry.senderFault);
    if (retryable.length > 0) {
      const ids = new Set(retryable.map((entry) => entry.id));
      const retried = await deps.sendBatch(batch.filter((entry) => ids.has(entry.Id)));
      failed = [...failed.filter((entry) => entry.senderFault), ...retried];
    }
    for (const entry of failed) {
      const job = batch.find((candidate) => candidate.Id === entry.id);
      const mailboxId = job?.MessageGroupId ?? entry.id;
      deps.logger.error('job not queued', { mailboxId, code: entry.code, senderFault: entry.senderFault });
      undelivered.push(mailboxId);
    }
  }
  const result = {
    slot: slot.toISOString(),
    jobsSent: mailboxes.length - undelivered.length,
    batches: batches.length,
    configVersion: version,
  };
  if (undelivered.length > 0) {
    // Failing the invocation makes the scheduler retry it; jobs already queued are deduplicated by slot.
    throw new DispatchError(
      `${undelivered.length} job(s) not queued for slot ${result.slot}: ${undelivered.join(', ')}`,
    );
  }
  deps.logger.info('jobs dispatched', result);
  return result;
}
