/**
 * The mailbox's trustedAuthservId, from the configuration as parseConfig reads it, reaches the
 * notification of every message a run stores: a real POP3 exchange (the in-memory RFC 1939 server) and the
 * real local adapters, nothing mocked.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { parseConfig } from '../../lib/config/load-config.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { openDkimOpenDmarc, rspamd } from '../support/verdict-samples.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const asMessage = (header: string) => Buffer.from(`${header.replace(/\r?\n/g, '\r\n')}\r\n\r\nHello.\r\n`);

describe('verdicts through a run', () => {
  test.each([
    ['trusting the MTA’s authserv-id', 'mail.example.com', ['PASS', 'FAIL'], ['PASS', 'FAIL']],
    [
      'trusting nobody (unknown host, no setting)',
      undefined,
      ['DISABLED', 'DISABLED'],
      ['DISABLED', 'DISABLED'],
    ],
  ])('%s', async (_, trustedAuthservId, [firstDmarc, secondDmarc], spamVerdicts) => {
    const messages = [asMessage(rspamd('X-Spam: No')), asMessage(openDkimOpenDmarc('X-Spam-Flag: YES'))];
    const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
    cleanups.push(() => server.close());
    const config = parseConfig({
      mailboxes: [
        {
          id: 'inbox',
          host: '127.0.0.1',
          port: server.port,
          tls: 'none',
          allowInsecureAuth: true,
          username: 'alice',
          password: 'secret',
          ...(trustedAuthservId === undefined ? {} : { trustedAuthservId }),
        },
      ],
    });
    const ports = localPorts();
    cleanups.push(() => ports.remove());
    const outcome = await pollMailbox(config.mailboxes[0]!, ports, Deadline.after(20_000));
    expect(outcome).toMatchObject({ status: 'ok', counts: { deleted: 2 } });
    // Sent in parallel: tell the two apart by the field only rspamd writes.
    const byFilter = new Map(
      ports
        .notifications()
        .map((n) => [
          n.mail.headers.some((field) => field.name === 'X-Rspamd-Server') ? 'rspamd' : 'milters',
          n.receipt,
        ]),
    );
    expect([
      byFilter.get('rspamd')?.dmarcVerdict.status,
      byFilter.get('milters')?.dmarcVerdict.status,
    ]).toEqual([firstDmarc, secondDmarc]);
    // Spam fields count only where the mailbox trusts the server that stamped the message.
    expect([byFilter.get('rspamd')?.spamVerdict.status, byFilter.get('milters')?.spamVerdict.status]).toEqual(
      spamVerdicts,
    );
    expect(byFilter.get('milters')?.dmarcPolicy).toBe(trustedAuthservId === undefined ? undefined : 'reject');
  });
});
