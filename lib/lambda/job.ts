/**
 * The poll job: what the dispatch function puts on the FIFO job queue, one per mailbox per schedule slot,
 * and what the poll function reads back. The slot makes a retried dispatch idempotent: the same scheduled
 * time always yields the same MessageDeduplicationId, so SQS drops the second copy.
 */
import {
  SQS_MAX_BATCH_ENTRIES,
  SQS_MAX_DEDUPLICATION_ID_LENGTH,
  SQS_PORTABLE_MESSAGE_BYTES,
} from '../aws-limits.ts';
import type { MailboxConfig } from '../config/types.ts';

export const JOB_FORMAT_VERSION = 1;

/** A job batch is kept to what every queue accepts as one message, so it never meets a payload limit. */
export const JOB_MAX_BATCH_BYTES = SQS_PORTABLE_MESSAGE_BYTES;

export interface PollJob {
  readonly version: typeof JOB_FORMAT_VERSION;
  readonly mailbox: MailboxConfig;
  /** Start of the schedule slot this job belongs to, ISO 8601 UTC. */
  readonly slot: string;
}

/** One SendMessageBatch entry for the FIFO job queue. */
export interface JobEntry {
  readonly Id: string;
  readonly MessageBody: string;
  readonly MessageGroupId: string;
  readonly MessageDeduplicationId: string;
}

export class JobFormatError extends Error {
  override readonly name = 'JobFormatError';
}

/** The scheduled time floored to the schedule period: every retry of one scheduled run lands in one slot. */
export function scheduleSlot(scheduledTime: Date, periodSeconds: number): Date {
  if (!Number.isInteger(periodSeconds) || periodSeconds <= 0) {
    throw new RangeError(`schedule period must be a positive whole number of seconds, got ${periodSeconds}`);
  }
  const epochMs = scheduledTime.getTime();
  if (Number.isNaN(epochMs)) throw new RangeError('scheduled time is not a valid date');
  const periodMs = periodSeconds * 1000;
  return new Date(Math.floor(epochMs / periodMs) * periodMs);
}

/** Mailbox id (≤ 64 characters, see MailboxConfig.id) + slot: well under the 128-character SQS limit. */
export function jobDeduplicationId(mailboxId: string, slot: Date): string {
  const id = `${mailboxId}@${slot.toISOString()}`;
  if (id.length > SQS_MAX_DEDUPLICATION_ID_LENGTH) {
    throw new RangeError(`deduplication id longer than ${SQS_MAX_DEDUPLICATION_ID_LENGTH} characters: ${id}`);
  }
  return id;
}

export function encodeJob(mailbox: MailboxConfig, slot: Date): string {
  const job: PollJob = { version: JOB_FORMAT_VERSION, mailbox, slot: slot.toISOString() };
  return JSON.stringify(job);
}

/**
 * One entry per mailbox, grouped into SendMessageBatch calls of at most 10 entries and 256 KiB.
 * The group id is the mailbox id, so SQS never hands out two jobs for one mailbox at the same time.
 */
export function buildJobBatches(mailboxes: readonly MailboxConfig[], slot: Date): JobEntry[][] {
  const batches: JobEntry[][] = [];
  let current: JobEntry[] = [];
  let currentBytes = 0;
  mailboxes.forEach((mailbox, index) => {
    const entry: JobEntry = {
      // Batch entry ids allow only [A-Za-z0-9_-]; mailbox ids may contain '.', so use the position.
      Id: `job-${index}`,
      MessageBody: encodeJob(mailbox, slot),
      MessageGroupId: mailbox.id,
      MessageDeduplicationId: jobDeduplicationId(mailbox.id, slot),
    };
    const bytes = Buffer.byteLength(entry.MessageBody, 'utf8');
    if (bytes > JOB_MAX_BATCH_BYTES) {
      throw new RangeError(`job for mailbox ${mailbox.id} is ${bytes} bytes, more than SQS accepts`);
    }
    if (current.length === SQS_MAX_BATCH_ENTRIES || currentBytes + bytes > JOB_MAX_BATCH_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Reads a job body; throws JobFormatError when it is not a job this version understands. */
export function decodeJob(body: string): PollJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new JobFormatError('job body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new JobFormatError('job body is not an object');
  const job = parsed as Record<string, unknown>;
  if (job['version'] !== JOB_FORMAT_VERSION) {
    throw new JobFormatError(`unsupported job version ${JSON.stringify(job['version'])}`);
  }
  const mailbox = job['mailbox'];
  if (
    typeof mailbox !== 'object' ||
    mailbox === null ||
    typeof (mailbox as { id?: unknown }).id !== 'string'
  ) {
    throw new JobFormatError('job has no mailbox with an id');
  }
  const slot = job['slot'];
  if (typeof slot !== 'string' || Number.isNaN(Date.parse(slot))) {
    throw new JobFormatError('job has no valid slot');
  }
  return { version: JOB_FORMAT_VERSION, mailbox: mailbox as MailboxConfig, slot };
}
