/**
 * RETR one message straight into the store. The bytes flow server → unstuffer → tap → store without
 * being collected here; a failure of either side stops both (a truncated message can never be stored as
 * complete, because the store sees the stream fail, not end).
 */
import { pipeline } from 'node:stream';
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { Pop3Error, Pop3MessageTooLargeError, Pop3ServerError } from '../pop3/errors.ts';
import { isRateOrQuotaText } from '../pop3/response-codes.ts';
import type { Pop3Client } from '../pop3-client/client.ts';
import type { Clock, MessageStore, StoredMessage } from '../ports.ts';
import { StoreUnavailableError } from './errors.ts';
import { type ChargeReceived, MessageTap } from './message-tap.ts';
import type { PlannedMessage } from './retrieval-plan.ts';
import type { RunRecord } from './run-record.ts';

/** Stores failing this many times in a row mean the store is down: stop instead of draining the mailbox into errors. */
export const CONSECUTIVE_STORE_FAILURES_BEFORE_STOP = 3;

export interface RetrievedMessage {
  readonly planned: PlannedMessage;
  readonly stored: StoredMessage;
  /** The header section (at most HeaderCollector's limit). */
  readonly headerBytes: Buffer;
  readonly headerSectionTruncated: boolean;
  /** This run's; the notification takes the object's own instead when it has them (`stored.firstStored`). */
  readonly retrievedAt: Date;
  readonly processingTimeMillis: number;
}

export interface RetrieveContext {
  readonly client: Pop3Client;
  readonly mailbox: MailboxConfig;
  readonly store: MessageStore;
  readonly clock: Clock;
  readonly run: RunRecord;
  /** The run's deadline: a store still in flight when it passes is abandoned (not committed). */
  readonly deadline?: Deadline;
}

/** Resolves with the stored message, or undefined when this message was skipped (and recorded as such). */
export async function retrieveAndStore(
  context: RetrieveContext,
  planned: PlannedMessage,
  charge?: ChargeReceived,
): Promise<RetrievedMessage | undefined> {
  const { client, mailbox, store, run } = context;
  const started = performance.now();
  const retrievedAt = context.clock.now();
  const retr = client.retr(planned.msg, { maxBytes: mailbox.limits.maxMessageBytes });
  const tap = new MessageTap(charge); // charges the in-flight budget as octets arrive
  let retrFailure: unknown;
  retr.once('error', (error) => {
    retrFailure = error;
  });
  pipeline(retr, tap, () => undefined);
  // Fixed by the first call: the store's, when it writes the object's metadata, else ours below, so the
  // notification says what the object says (lib/ports.ts NotificationContext).
  let processingTimeMillis: number | undefined;
  const processingTime = () => {
    processingTimeMillis ??= Math.max(0, Math.round(performance.now() - started));
    return processingTimeMillis;
  };
  try {
    const stored = await store.put({
      mailboxId: mailbox.id,
      uidl: planned.uidl,
      listedSize: planned.listedSize,
      body: tap,
      retrievedAt,
      signal: context.deadline?.signal(),
      notificationContext: {
        host: mailbox.host,
        username: mailbox.username,
        trustedAuthservId: mailbox.trustedAuthservId,
        utf8: client.utf8Mode,
        processingTimeMillis: processingTime,
      },
    });
    if (retrFailure) throw retrFailure;
    if (stored.size !== tap.bytes) {
      throw new Error(
        `store reported ${stored.size} octets for message ${planned.msg}, but ${tap.bytes} were retrieved`,
      );
    }
    run.retrieved(tap.bytes);
    run.stored({ msg: planned.msg, uidl: planned.uidl, size: stored.size, key: stored.key });
    return {
      planned,
      stored,
      headerBytes: tap.header.headerBytes(),
      headerSectionTruncated: tap.header.truncated,
      retrievedAt,
      processingTimeMillis: processingTime(),
    };
  } catch (error) {
    tap.destroy();
    retr.destroy();
    return recordFailure(context, planned, retrFailure ?? error);
  }
}

function recordFailure(context: RetrieveContext, planned: PlannedMessage, failure: unknown): undefined {
  const { run } = context;
  const { msg, uidl } = planned;
  const detail = failure instanceof Error ? failure.message : String(failure);
  if (failure instanceof Pop3ServerError) {
    // The server would not give it (RETR -ERR): nothing was retrieved, skip it and go on.
    run.retrievalRefused({ msg, uidl }, detail);
    // A quota or rate text: start nothing new, commit what is stored, QUIT, retry later.
    if (isRateOrQuotaText(failure.serverText)) run.stop({ reason: 'rate-limited', message: detail });
    return undefined;
  }
  if (failure instanceof Pop3MessageTooLargeError) {
    run.retrievalCutOff({ msg, uidl }, detail);
    return undefined;
  }
  if (isConnectionLevel(failure)) throw failure;
  const inARow = run.storeFailed({ msg, uidl }, detail);
  if (inARow >= CONSECUTIVE_STORE_FAILURES_BEFORE_STOP) {
    throw new StoreUnavailableError(`${inARow} stores failed in a row (last: ${detail}); stopping this run`, {
      cause: failure,
    });
  }
  return undefined;
}

/** Errors after which the conversation is gone: the run cannot go on. */
function isConnectionLevel(error: unknown): boolean {
  return (
    error instanceof Pop3Error &&
    !(error instanceof Pop3ServerError) &&
    !(error instanceof Pop3MessageTooLargeError)
  );
}
