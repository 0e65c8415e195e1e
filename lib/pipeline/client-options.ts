/**
 * A mailbox's configuration as Pop3Client options, in one place: `check` (lib/cli/check.ts) connects
 * and logs in exactly as a poll does, so a check that passes speaks for the poll. Here and not lower:
 * the config (lib/config/) and the client (lib/pop3-client/) sit side by side in one layer and neither
 * knows the other, and what a poll adds (listing caps sized for keep mode or the per-run limit) is the
 * pipeline's own policy.
 */
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import {
  KEEP_MODE_MAX_LISTING_ENTRIES,
  KEEP_MODE_MAX_LISTING_OCTETS,
  maxListingEntriesFor,
} from '../pop3/limits.ts';
import type { Pop3ClientOptions, Pop3Timeouts } from '../pop3-client/options.ts';

/** Where the server is and how to reach it and log in: everything `check` and a poll share. */
export function connectionOptions(mailbox: MailboxConfig, deadline: Deadline): Pop3ClientOptions {
  return {
    host: mailbox.host,
    port: mailbox.port,
    tls: mailbox.tls,
    ca: mailbox.ca,
    servername: mailbox.servername,
    allowInsecureAuth: mailbox.allowInsecureAuth,
    xoauth2Form: mailbox.profile?.xoauth2Form,
    deadline,
  };
}

/** What a run adds to the connection (PollOptions carries these). */
export interface RunClientOptions {
  readonly timeouts?: Pop3Timeouts;
  /** The login mechanism that worked last time, tried first when offered. */
  readonly preferredMechanism?: string;
  readonly onTrace?: (mailboxId: string, direction: 'C' | 'S', line: string) => void;
}

/** A poll's client: the connection above, pipelining, the size caps from the mailbox's limits, the run's options. */
export function pollClientOptions(
  mailbox: MailboxConfig,
  deadline: Deadline,
  options: RunClientOptions,
): Pop3ClientOptions {
  return {
    ...connectionOptions(mailbox, deadline),
    pipelining: mailbox.pipelining,
    maxMessageBytes: mailbox.limits.maxMessageBytes,
    maxListingEntries: mailbox.keep
      ? KEEP_MODE_MAX_LISTING_ENTRIES
      : maxListingEntriesFor(mailbox.limits.maxMessagesPerRun),
    ...(mailbox.keep ? { maxListingOctets: KEEP_MODE_MAX_LISTING_OCTETS } : {}),
    ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    ...(options.preferredMechanism ? { preferredMechanism: options.preferredMechanism } : {}),
    ...(options.onTrace ? { onTrace: options.onTrace.bind(undefined, mailbox.id) } : {}),
  };
}
