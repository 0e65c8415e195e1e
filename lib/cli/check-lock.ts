/**
 * `check` holds a mailbox's lock while it checks it, as a poll does (lib/cli/mailbox-lock.ts): its
 * credentials step may spend an OAuth2 refresh token, and two runs renewing one refresh token at once
 * present a token the other already retired, which an endpoint with reuse detection (RFC 9700 §4.14.2)
 * answers by revoking the whole grant. A mailbox another run holds is reported and not checked.
 */
import type { MailboxConfig } from '../config/types.ts';
import type { Report } from './io.ts';
import { lockMailbox } from './mailbox-lock.ts';

export interface CheckLock {
  readonly dir: string;
  readonly waitMs: number;
}

/** Runs `check` while holding the mailbox's lock; false (a failed step) when the lock is not had. */
export async function underMailboxLock(
  mailbox: MailboxConfig,
  lock: CheckLock,
  report: Report,
  check: () => Promise<boolean>,
): Promise<boolean> {
  let attempt: Awaited<ReturnType<typeof lockMailbox>>;
  try {
    attempt = await lockMailbox(lock.dir, mailbox, lock.waitMs);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    report(`FAILED  lock: cannot take the lock for this mailbox in ${lock.dir} (${why})`);
    report('        hint: set MAILBOX_POLLER_LOCK_DIR to a writable folder');
    return false;
  }
  if (!attempt.acquired) {
    const who =
      attempt.holder === undefined
        ? 'another run'
        : `another run (pid ${attempt.holder.pid}, since ${attempt.holder.startedAt})`;
    report(
      `FAILED  lock: ${who} is polling ${mailbox.username} on ${mailbox.host}:${mailbox.port}; not checked`,
    );
    report('        hint: check again when it is done, or wait for it with --wait-lock SECONDS');
    return false;
  }
  try {
    return await check();
  } finally {
    await attempt.release();
  }
}
