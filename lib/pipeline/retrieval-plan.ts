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
  /** Left for a later run by the per-run limits (not an error). */
  readonly deferred: number;
}

export function planRetrievals(
  listing: readonly ListEntry[],
  uidls: readonly UidlEntry[] | undefined,
  limits: MailboxLimits,
): RetrievalPlan {
  const uidlOf = new Map(uidls?.map((entry) => [entry.msg, entry.uidl]));
  const retrieve: PlannedMessage[] = [];
  const oversized: SkippedMessage[] = [];
  let deferred = 0;
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
      continue;
    }
    const overCount = retrieve.length >= limits.maxMessagesPerRun;
    // The byte limit never stops the first message: one large message must not block a mailbox forever.
    const overBytes = retrieve.length > 0 && plannedBytes + octets > limits.maxBytesPerRun;
    if (overCount || overBytes) {
      deferred++;
      continue;
    }
    retrieve.push({ msg, uidl, listedSize: octets });
    plannedBytes += octets;
  }
  return { retrieve, oversized, deferred };
}
