/**
 * Steps 2 and 3 of the commit order (lib/pipeline/poll-mailbox.ts), each recorded in the RunRecord:
 * what a stored message's notification says, what a sent batch means for the run, and DELE.
 */
import type { MailboxConfig } from '../config/types.ts';
import { buildNotification } from '../notification/index.ts';
import { Pop3ServerError } from '../pop3/errors.ts';
import type { Pop3Client } from '../pop3-client/client.ts';
import type { SentBatch, StoredAndDescribed } from './commit-batch.ts';
import type { RetrievedMessage } from './retrieve-and-store.ts';
import type { RunRecord } from './run-record.ts';

/**
 * Notifications failing this many times in a row mean the queue is unusable (wrong URL, no permission,
 * deleted): stop instead of storing the whole mailbox with nothing notified. As for the store.
 */
export const CONSECUTIVE_NOTIFY_FAILURES_BEFORE_STOP = 3;

/**
 * The notification of a stored message. For an object that was already there (a run cut off after its
 * notification was sent, before DELE or QUIT), the times are those the object keeps from the run that
 * stored it, when it keeps them: the notification sent again is then the first one byte for byte, and
 * what `replay` rebuilds from the object.
 */
export function describe(
  retrieved: RetrievedMessage,
  mailbox: MailboxConfig,
  utf8Mode?: boolean,
): StoredAndDescribed {
  const { planned, stored } = retrieved;
  const times = stored.firstStored ?? retrieved;
  const { body } = buildNotification({
    mailboxId: mailbox.id,
    host: mailbox.host,
    username: mailbox.username,
    uidl: planned.uidl,
    size: stored.size,
    sha256: stored.sha256,
    retrievedAt: times.retrievedAt,
    processingTimeMillis: times.processingTimeMillis,
    bucketName: stored.location,
    objectKey: stored.key,
    headerBytes: retrieved.headerBytes,
    headerSectionTruncated: retrieved.headerSectionTruncated,
    trustedAuthservId: mailbox.trustedAuthservId,
    ...(utf8Mode === undefined ? {} : { utf8: utf8Mode }),
  });
  return {
    msg: planned.msg,
    uidl: planned.uidl,
    notification: { entryId: `m${planned.msg}`, body, mailboxId: mailbox.id, deduplicationKey: stored.key },
    sha256: stored.sha256,
  };
}

/**
 * Records what a send did and resolves with the messages that may now be deleted. Too many failures in
 * a row stop the run: nothing new is retrieved, and what was already notified is still committed.
 */
export function recordSent(sent: SentBatch, run: RunRecord): readonly StoredAndDescribed[] {
  for (const { item, reason } of sent.failed) {
    const inARow = run.notifyFailed(item, reason);
    if (inARow >= CONSECUTIVE_NOTIFY_FAILURES_BEFORE_STOP) {
      run.stop({
        reason: 'notify',
        message: `${inARow} notifications failed in a row (last: ${reason}); stopping this run`,
      });
    }
  }
  for (const item of sent.accepted) run.notified(item);
  return sent.accepted;
}

/** A message stored after the run was stopped for failing notifications: not sent, stays on the server. */
export function leaveUnnotified(retrieved: RetrievedMessage, run: RunRecord, why: string): void {
  const { msg, uidl } = retrieved.planned;
  run.notifyFailed({ msg, uidl }, `not sent, the run was stopped: ${why}`);
}

/** DELE each message whose notification was accepted. */
export async function markForDeletion(
  client: Pop3Client,
  items: readonly StoredAndDescribed[],
  run: RunRecord,
): Promise<void> {
  await Promise.all(
    items.map(async (item) => {
      try {
        await client.dele(item.msg);
        run.markedForDeletion(item);
      } catch (error) {
        // DELE -ERR: stored and notified, but stays on the server; the next run re-stores the same key.
        if (!(error instanceof Pop3ServerError)) throw error;
        run.deletionRefused(item, error.message);
      }
    }),
  );
}
