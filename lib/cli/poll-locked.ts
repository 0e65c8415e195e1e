/**
 * Polls each mailbox under its lock (lib/cli/mailbox-lock.ts), at most `concurrency` at once (the
 * pipeline's pool, lib/pipeline/mailbox-pool.ts). A mailbox another run holds is not polled: it ends
 * retry-later (locked), and that other run takes its messages.
 */
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { type GuardOptions, type HealthPorts, pollGuarded } from '../health/guarded-poll.ts';
import { pollConcurrently } from '../pipeline/mailbox-pool.ts';
import { emptyCounts, type MailboxOutcome } from '../pipeline/outcome.ts';
import { type PollOptions, type PollPorts, pollMailbox } from '../pipeline/poll-mailbox.ts';
import { MailboxLockError } from './lock-files.ts';
import { type LockHolder, lockMailbox } from './mailbox-lock.ts';

export interface LockOptions {
  readonly lockDir: string;
  readonly waitLockMs: number;
}

/** With a health store, each mailbox is polled behind its circuit breaker (lib/health/guarded-poll.ts). */
export type LockedPollPorts = PollPorts & Partial<HealthPorts>;

export async function pollMailboxesLocked(
  mailboxes: readonly MailboxConfig[],
  ports: LockedPollPorts,
  deadline: Deadline,
  options: PollOptions & GuardOptions & LockOptions & { concurrency?: number },
): Promise<MailboxOutcome[]> {
  return pollConcurrently(mailboxes, options.concurrency, (mailbox) =>
    pollOne(mailbox, ports, deadline, options),
  );
}

async function pollOne(
  mailbox: MailboxConfig,
  ports: LockedPollPorts,
  deadline: Deadline,
  options: PollOptions & GuardOptions & LockOptions,
): Promise<MailboxOutcome> {
  const startedAt = performance.now();
  const waitMs = Math.min(options.waitLockMs, deadline.remainingMs());
  let lock: Awaited<ReturnType<typeof lockMailbox>>;
  try {
    lock = await lockMailbox(options.lockDir, mailbox, waitMs);
  } catch (error) {
    // Polling without the lock could duplicate every message another run is taking: do not.
    const why = error instanceof Error ? error.message : String(error);
    return {
      ...lockedOutcome(mailbox, undefined, performance.now() - startedAt),
      status: 'failed',
      reason: 'error',
      // A MailboxLockError names the folder or file and what to change; anything else is a folder problem.
      message:
        error instanceof MailboxLockError
          ? `cannot take the lock for this mailbox: ${why}`
          : `cannot take the lock for this mailbox in ${options.lockDir} (${why}); set MAILBOX_POLLER_LOCK_DIR to a writable folder`,
    };
  }
  if (!lock.acquired) return lockedOutcome(mailbox, lock.holder, performance.now() - startedAt);
  try {
    const { healthStore } = ports;
    return healthStore === undefined
      ? await pollMailbox(mailbox, ports, deadline, options)
      : await pollGuarded(mailbox, { ...ports, healthStore }, deadline, options);
  } finally {
    await lock.release();
  }
}

function lockedOutcome(
  mailbox: MailboxConfig,
  holder: LockHolder | undefined,
  durationMs: number,
): MailboxOutcome {
  const who =
    holder === undefined ? 'another run' : `another run (pid ${holder.pid}, since ${holder.startedAt})`;
  return {
    mailboxId: mailbox.id,
    status: 'retry-later',
    reason: 'locked',
    message:
      `${who} is polling ${mailbox.username} on ${mailbox.host}:${mailbox.port}; left to it, nothing was ` +
      'done here (--wait-lock SECONDS waits for it)',
    counts: emptyCounts(),
    skipped: [],
    quitConfirmed: false,
    durationMs: Math.round(durationMs),
  };
}
