/**
 * Diagnostic: the poller's POP3 client and pipeline with a store that only reads and hashes each body
 * and a notifier that accepts everything at once. Against the raw drain this isolates the cost of the
 * client and pipeline; against the real destinations, the cost of the stores.
 *
 *   node poller-discard.mjs HOST PORT USER PASSWORD
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DEFAULT_LIMITS } from '../../lib/config/load-config.ts';
import type { MailboxConfig } from '../../lib/config/types.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore, Notifier } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';

const [host = '127.0.0.1', port = '110', username = '', password = ''] = process.argv.slice(2);

const store: MessageStore = {
  async put(message) {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of message.body as Readable) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const sha256 = hash.digest('hex');
    return { key: `${message.mailboxId}/${sha256}.eml`, location: 'discard', sha256, size, created: true };
  },
};

const notifier: Notifier = {
  maxBatchSize: 10,
  send: async (batch) => batch.map((notification) => ({ entryId: notification.entryId, ok: true as const })),
};

const mailbox: MailboxConfig = {
  id: username,
  host,
  port: Number(port),
  tls: 'none',
  username,
  credential: { literal: password },
  credentialKind: 'password',
  auth: 'auto',
  ca: undefined,
  servername: undefined,
  allowInsecureAuth: true,
  pipelining: true,
  limits: { ...DEFAULT_LIMITS, maxMessageBytes: 512 * 1024 * 1024 },
};

const outcome = await pollMailbox(
  mailbox,
  {
    store,
    notifier,
    credentials: { resolve: async () => ({ kind: 'password', username, password }) },
    clock: systemClock,
  },
  Deadline.never(),
);
process.stdout.write(`${JSON.stringify([outcome])}\n`);
process.exitCode = outcome.status === 'ok' ? 0 : 1;
