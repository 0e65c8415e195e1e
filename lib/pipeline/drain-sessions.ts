/**
 * Some providers hand out a limited batch per session (Gmail: about 250 messages, oldest first) and show
 * the rest only once those are gone. For them a run logs in again after each session that committed
 * messages, and goes on until a session finds nothing to commit, the per-run limits are used up, the
 * deadline is near, or a session does not end cleanly. The outcome adds up every session's counts and
 * ends as the last session ended.
 *
 * `recent:` usernames (Gmail's "recent mode") list the last 30 days in every session whatever was
 * downloaded, so a new session would only hand out the same messages again: they get one session.
 */
import type { MailboxConfig, MailboxLimits } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import type { MailboxOutcome, OutcomeCounts } from './outcome.ts';

/** A bound on sessions per run, far above any real need (250 × 40 = 10,000, the default per-run limit). */
export const MAX_SESSIONS_PER_RUN = 40;

/** A new session needs a connect, TLS and a login at least: not worth starting with less time than this. */
const MIN_MS_FOR_ANOTHER_SESSION = 5_000;

export function drainsInSessions(mailbox: MailboxConfig): boolean {
  return mailbox.profile?.drainInSessions === true && !/^recent:/i.test(mailbox.username);
}

export async function drainInSessions(
  mailbox: MailboxConfig,
  deadline: Deadline,
  pollSession: (mailbox: MailboxConfig) => Promise<MailboxOutcome>,
): Promise<MailboxOutcome> {
  let last = await pollSession(mailbox);
  let total = last;
  for (let session = 1; session < MAX_SESSIONS_PER_RUN && committedAndGoesOn(last); session++) {
    const limits = remainingLimits(mailbox.limits, total.counts);
    if (limits === undefined || deadline.remainingMs() < MIN_MS_FOR_ANOTHER_SESSION) break;
    last = await pollSession({ ...mailbox, limits });
    total = addUp(total, last);
  }
  return total;
}

/** The session ended cleanly (ok, QUIT confirmed, no stop) and deleted something: there may be more. */
function committedAndGoesOn(session: MailboxOutcome): boolean {
  return (
    session.status === 'ok' &&
    session.quitConfirmed &&
    session.reason === undefined &&
    session.counts.deleted > 0
  );
}

/** The per-run limits minus what earlier sessions retrieved; undefined once one is used up. */
function remainingLimits(limits: MailboxLimits, used: OutcomeCounts): MailboxLimits | undefined {
  const maxMessagesPerRun = limits.maxMessagesPerRun - used.retrieved;
  const maxBytesPerRun = limits.maxBytesPerRun - used.bytesRetrieved;
  if (maxMessagesPerRun <= 0 || maxBytesPerRun <= 0) return undefined;
  return { ...limits, maxMessagesPerRun, maxBytesPerRun };
}

/**
 * Counts summed, skips kept; status, reason, QUIT and `left` as the later session ended (what it left
 * is what is still on the server: a message an earlier session left is listed again by the later one).
 */
function addUp(earlier: MailboxOutcome, later: MailboxOutcome): MailboxOutcome {
  const counts = { ...earlier.counts };
  for (const key of Object.keys(counts) as (keyof OutcomeCounts)[]) counts[key] += later.counts[key];
  counts.left = later.counts.left;
  return {
    ...later,
    counts,
    skipped: [...earlier.skipped, ...later.skipped],
    durationMs: earlier.durationMs + later.durationMs,
  };
}
