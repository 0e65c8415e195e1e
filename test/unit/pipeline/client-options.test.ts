/**
 * A mailbox's configuration as Pop3Client options, in one place for `check` and a poll
 * (lib/pipeline/client-options.ts).
 */
import { describe, expect, it } from 'vitest';
import { providerProfile } from '../../../lib/config/providers.ts';
import { Deadline } from '../../../lib/deadline.ts';
import { connectionOptions, pollClientOptions } from '../../../lib/pipeline/client-options.ts';
import {
  KEEP_MODE_MAX_LISTING_ENTRIES,
  KEEP_MODE_MAX_LISTING_OCTETS,
  maxListingEntriesFor,
} from '../../../lib/pop3/limits.ts';
import { testMailbox } from '../../support/mailbox.ts';

const deadline = Deadline.after(60_000);
const mailbox = testMailbox({
  id: 'work',
  host: 'pop.gmail.com',
  port: 995,
  tls: 'implicit',
  ca: '-----BEGIN CERTIFICATE-----\n...',
  servername: 'pop.example.net',
  allowInsecureAuth: false,
  pipelining: false,
  profile: providerProfile('auto', 'pop.gmail.com'),
  limits: { maxMessagesPerRun: 500, maxMessageBytes: 1234 },
});

describe('connectionOptions: where the server is and how to log in, as check and a poll share it', () => {
  it('carries every connection and login setting of the mailbox, and the deadline', () => {
    expect(connectionOptions(mailbox, deadline)).toEqual({
      host: 'pop.gmail.com',
      port: 995,
      tls: 'implicit',
      ca: '-----BEGIN CERTIFICATE-----\n...',
      servername: 'pop.example.net',
      allowInsecureAuth: false,
      xoauth2Form: providerProfile('auto', 'pop.gmail.com').xoauth2Form,
      deadline,
    });
  });
});

describe('pollClientOptions: the connection plus what a run sets', () => {
  it('pipelining and the caps from the mailbox, the run options, the trace bound to the mailbox', () => {
    const lines: string[] = [];
    const options = pollClientOptions(mailbox, deadline, {
      timeouts: { idleMs: 5_000 },
      preferredMechanism: 'PLAIN',
      onTrace: (id, direction, line) => lines.push(`${id} ${direction} ${line}`),
    });
    expect(options).toMatchObject({
      ...connectionOptions(mailbox, deadline),
      pipelining: false,
      maxMessageBytes: 1234,
      maxListingEntries: maxListingEntriesFor(500),
      timeouts: { idleMs: 5_000 },
      preferredMechanism: 'PLAIN',
    });
    expect(options.maxListingOctets).toBeUndefined();
    options.onTrace?.('C', 'STAT');
    expect(lines).toEqual(['work C STAT']);
  });

  it('keep mode: the listing caps of a mailbox that keeps everything on the server', () => {
    const options = pollClientOptions(
      { ...mailbox, keep: { deleteAfterDays: undefined, initial: 'all' } },
      deadline,
      {},
    );
    expect(options.maxListingEntries).toBe(KEEP_MODE_MAX_LISTING_ENTRIES);
    expect(options.maxListingOctets).toBe(KEEP_MODE_MAX_LISTING_OCTETS);
    expect(options).not.toHaveProperty('timeouts');
    expect(options).not.toHaveProperty('preferredMechanism');
    expect(options).not.toHaveProperty('onTrace');
  });
});
