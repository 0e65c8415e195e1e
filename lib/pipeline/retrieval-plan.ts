/**
 * Which messages one run retrieves, in which order, and which it leaves on the server by rule.
 */
import type { MailboxLimits } from '../config/types.ts';
import type { ListEntry, UidlEntry } from '../pop3/parsers.ts';
import type { SkippedMessage } from './outcome.ts';

export interface PlannedMessage {
  readonly msg: number;
  readonly uidl: string | undefined;
  /** Size from LIST: a hint for budgets and limits; the server may be wrong about it. */
  readonly listedSize: number;
}

export interface RetrievalPlan {
  readonly retrieve: readonly PlannedMessage[];
  readonly oversized: readonly SkippedMessage[];
  /** The same messages, with their LIST size. */
  readonly oversizedMessages: readonly PlannedMessage[];
  /** Left for a later run by the per-run limits (not an error): how many. */
  readonly deferred: number;
  /** The same messages, in order. */
  readonly deferredMessages: readonly PlannedMessage[];
}

export function planRetrievals(
  listing: readonly ListEntry[],
  uidls: readonly UidlEntry[] | undefined,
  limits: MailboxLimits,
): RetrievalPlan {
  const uidlOf = new Map(uidls?.map((entry) => [entry.msg, entry.uidl]));
  const retrieve: PlannedMessage[] = [];
  const oversized: SkippedMessage[] = [];
  const oversizedMessages: PlannedMessage[] = [];
  const deferredMessages: PlannedMessage[] = [];
  let plannedBytes = 0;
  for (const { msg, octets } of listing) {
    const uidl = uidlOf.get(msg);
    if (octets > limits.maxMessageBytes) {
      oversized.push({
        msg,
        uidl,
        reason: 'oversized',
        detail: `${octets} octets is over the limit of ${limits.maxMessageBytes}; left on the server`,
      });
      oversizedMessages.push({ msg, uidl, listedSize: octets });
      continue;
    }
    const overCount = retrieve.length >= limits.maxMessagesPerRun;
    // The byte limit never stops the first message: one large message must not block a mailbox forever.
    const overBytes = retrieve.length > 0 && plannedBytes + octets > limits.maxBytesPerRun;
    if (overCount || overBytes) {
      deferredMessages.push({ msg, uidl, listedSize: octets });
      continue;
    }
    retrieve.push({ msg, uidl, listedSize: octets });
    plannedBytes += octets;
  }
  return { retrieve, oversized, oversizedMessages, deferred: deferredMessages.length, deferredMessages };
}
