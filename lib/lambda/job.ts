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

/**
 * 2: a job names its mailbox and the config version; the poll function reads the mailbox's settings from
 * the deployed config itself. (1 carried the whole mailbox config, which let anyone able to send a job
 * choose the host and the secret to send there.)
 */
export const JOB_FORMAT_VERSION = 2;

/** A job batch is kept to what every queue accepts as one message, so it never meets a payload limit. */
export const JOB_MAX_BATCH_BYTES = SQS_PORTABLE_MESSAGE_BYTES;

/** The mailbox id pattern of schema/config.schema.json: a job naming anything else is not ours. */
const MAILBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** The config version is a SHA-256 in hex (config-source.ts configVersionOf). */
const CONFIG_VERSION = /^[0-9a-f]{64}$/;
const JOB_KEYS = ['configVersion', 'mailboxId', 'slot', 'version'];

/** What identifies the work, and nothing more: every setting of the mailbox comes from the deployed config. */
export interface PollJob {
  readonly version: typeof JOB_FORMAT_VERSION;
  readonly mailboxId: string;
  /** Start of the schedule slot this job belongs to, ISO 8601 UTC. */
  readonly slot: string;
  /** The version of the config document the dispatcher read (SHA-256 of its text). */
  readonly configVersion: string;
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

export function encodeJob(mailboxId: string, slot: Date, configVersion: string): string {
  const job: PollJob = { version: JOB_FORMAT_VERSION, mailboxId, slot: slot.toISOString(), configVersion };
  return JSON.stringify(job);
}

/**
 * One entry per mailbox, grouped into SendMessageBatch calls of at most 10 entries and 256 KiB.
 * The group id is the mailbox id, so SQS never hands out two jobs for one mailbox at the same time.
 */
export function buildJobBatches(
  mailboxes: readonly Pick<MailboxConfig, 'id'>[],
  slot: Date,
  configVersion: string,
): JobEntry[][] {
  const batches: JobEntry[][] = [];
  let current: JobEntry[] = [];
  let currentBytes = 0;
  mailboxes.forEach((mailbox, index) => {
    const entry: JobEntry = {
      // Batch entry ids allow only [A-Za-z0-9_-]; mailbox ids may contain '.', so use the position.
      Id: `job-${index}`,
      MessageBody: encodeJob(mailbox.id, slot, configVersion),
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

/**
 * Reads a job body; throws JobFormatError when it is not a job this version understands. Strict: a body
 * with any key beyond the four a job has (a host, a password, a whole mailbox) is not a job of ours.
 */
export function decodeJob(body: string): PollJob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new JobFormatError('job body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new JobFormatError('job body is not an object');
  }
  const job = parsed as Record<string, unknown>;
  if (job['version'] !== JOB_FORMAT_VERSION) {
    // Only the version's type is named: whatever a forged body holds stays out of the logs.
    throw new JobFormatError(`unsupported job version (${describeValue(job['version'])})`);
  }
  const unexpected = Object.keys(job).filter((key) => !JOB_KEYS.includes(key));
  if (unexpected.length > 0) {
    throw new JobFormatError(`job has ${unexpected.length} key(s) a job does not have`);
  }
  const { mailboxId, slot, configVersion } = job;
  if (typeof mailboxId !== 'string' || !MAILBOX_ID.test(mailboxId)) {
    throw new JobFormatError('job has no valid mailbox id');
  }
  if (typeof slot !== 'string' || Number.isNaN(Date.parse(slot))) {
    throw new JobFormatError('job has no valid slot');
  }
  if (typeof configVersion !== 'string' || !CONFIG_VERSION.test(configVersion)) {
    throw new JobFormatError('job has no valid config version');
  }
  return { version: JOB_FORMAT_VERSION, mailboxId, slot, configVersion };
}

function describeValue(value: unknown): string {
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 1000)
    return `version ${value}`;
  return value === undefined ? 'none' : typeof value;
}
