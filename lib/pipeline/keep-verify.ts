/**
 * Proof before `deleteAfterDays` deletes: the state matches a listed message by unique-id and LIST size,
 * and a server that reuses a unique-id for another message of the same size would otherwise get that
 * message DELE'd without it ever being stored. So the state keeps the SHA-256 of the bytes stored, and a
 * message due for deletion is read again (RETR) and hashed first: the same digest, and it may be
 * deleted; another, and it is a new message (ingested, never deleted on the old one's behalf); any doubt
 * (RETR refused, cut off, no digest to compare with), and it stays on the server.
 *
 * RETR, not TOP: only the whole message proves it is the one stored. The bodies are hashed as they
 * arrive and never held. Up to VERIFY_WINDOW RETRs are pipelined at once, so a long round trip is paid
 * once per window. The reads are bounded like the ingestion's: the per-run limits, and half the time
 * left, because ingesting new mail comes first; what is not read this run stays due for the next.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { MailboxLimits } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { Pop3MessageTooLargeError, Pop3ServerError } from '../pop3/errors.ts';
import type { Pop3Client } from '../pop3-client/client.ts';

/**
 * RETRs in flight while verifying: as many as the client's pipelining window (64), so that a long round
 * trip is paid once per window. Each body is hashed as it arrives, so a window holds no message.
 */
export const VERIFY_WINDOW = 64;

export interface DueMessage {
  readonly msg: number;
  readonly uidl: string;
  readonly size: number;
  /** SHA-256 (hex) of the bytes stored when it was ingested. */
  readonly sha256: string;
}

/**
 * What a read showed: `same`, the server's copy hashes to the stored digest (it may be deleted);
 * `different`, it is another message under the same unique-id and size; `unproven`, its RETR was refused
 * or cut off (it stays).
 */
export type Verdict = 'same' | 'different' | 'unproven';

/**
 * Reads and hashes the due messages, in order, until the per-run limits or half the time left are used.
 * Resolves with the verdict per message number; a message not read this run has none.
 */
export async function verifyDue(
  client: Pop3Client,
  due: readonly DueMessage[],
  limits: MailboxLimits,
  deadline: Deadline,
): Promise<Map<number, Verdict>> {
  const verdicts = new Map<number, Verdict>();
  const stopBelowMs = deadline.remainingMs() / 2; // Infinity / 2 for a deadline that never comes
  let bytes = 0;
  let next = 0;
  while (next < due.length && next < limits.maxMessagesPerRun) {
    if (Number.isFinite(stopBelowMs) && deadline.remainingMs() < stopBelowMs) break;
    const window: DueMessage[] = [];
    while (window.length < VERIFY_WINDOW && next < due.length && next < limits.maxMessagesPerRun) {
      const message = due[next]!;
      // The byte limit never stops the first message, as for ingestion.
      if (next > 0 && bytes + message.size > limits.maxBytesPerRun) break;
      bytes += message.size;
      window.push(message);
      next++;
    }
    if (window.length === 0) break;
    const digests = await Promise.allSettled(
      window.map((message) => digestOf(client.retr(message.msg, { maxBytes: limits.maxMessageBytes }))),
    );
    for (const [i, result] of digests.entries()) {
      const message = window[i]!;
      if (result.status === 'fulfilled') {
        verdicts.set(message.msg, result.value === message.sha256 ? 'same' : 'different');
      } else if (
        result.reason instanceof Pop3ServerError ||
        result.reason instanceof Pop3MessageTooLargeError
      ) {
        verdicts.set(message.msg, 'unproven');
      } else {
        throw result.reason; // the connection is gone: the run fails, and nothing is deleted
      }
    }
  }
  return verdicts;
}

async function digestOf(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
