/**
 * spamVerdict is read only from the stamping of a filter the mailbox trusts (lib/notification/spam-verdict.ts):
 * Exchange's own block for Microsoft 365, the mailbox's own server (its trusted authserv-id stamped the
 * message) elsewhere; spam fields a sender wrote into its message never decide.
 */
import { describe, expect, it } from 'vitest';
import {
  MICROSOFT_CLEAN,
  MICROSOFT_PASS,
  MICROSOFT_SPAM,
  microsoft365,
  notifyHeaders,
  rowOf,
  rspamd,
  SENDER_FIELDS,
} from '../../support/verdict-samples.ts';

const spamOf = (header: string, options: Parameters<typeof notifyHeaders>[1]) =>
  rowOf(notifyHeaders(header, options).receipt).spam;

const OWN_SERVER = 'mail.example.com';
/** What the mailbox's own server stamps on top of a message it received. */
const ownStamping = (below: string) =>
  `Authentication-Results: ${OWN_SERVER}; spf=pass smtp.mailfrom=a@example.org
Received: from mail.example.org (mail.example.org [192.0.2.25]) by ${OWN_SERVER} (Postfix) with ESMTPS id 1A2B
${below}`;

describe('a host without a trusted filter: DISABLED whatever the sender wrote', () => {
  it.each([
    ['X-Spam-Status: No, score=-5.0 required=5.0'],
    ['X-Spam-Flag: NO'],
    ['X-Spam: No'],
    ['X-Spamd-Result: default: False [0.00 / 15.00]'],
    ['X-MS-Exchange-Organization-SCL: -1'],
    ['X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:NSPM;'],
  ])('a sender-written %s on an unknown host, no trustedAuthservId → DISABLED', (field) => {
    expect(spamOf(`${SENDER_FIELDS}\n${field}`, { host: 'pop.example.com' })).toBe('DISABLED');
    expect(spamOf(`${field}\n${SENDER_FIELDS}`, { host: 'pop.example.com' })).toBe('DISABLED');
  });

  it('a trustedAuthservId the newest stamping does not carry: the sender’s field is not read', () => {
    const stampedByOthers = `Authentication-Results: relay.example.net; spf=pass smtp.mailfrom=a@example.org
Received: from attacker.example by relay.example.net
X-Spam-Status: No, score=-5.0
${SENDER_FIELDS}`;
    expect(spamOf(stampedByOthers, { trustedAuthservId: OWN_SERVER })).toBe('DISABLED');
    expect(spamOf(`X-Spam-Status: No, score=-5.0\n${SENDER_FIELDS}`, { trustedAuthservId: OWN_SERVER })).toBe(
      'DISABLED',
    );
  });
});

describe('the mailbox’s own server (trustedAuthservId stamped the message): its filter’s fields are read', () => {
  it.each([
    [
      'SpamAssassin, fields appended below the sender’s',
      ownStamping(`${SENDER_FIELDS}\nX-Spam-Flag: YES`),
      'FAIL',
    ],
    ['SpamAssassin ham', ownStamping(`${SENDER_FIELDS}\nX-Spam-Status: No, score=-0.1 required=5.0`), 'PASS'],
    ['rspamd, fields below its Authentication-Results', rspamd('X-Spam: Yes'), 'FAIL'],
  ])('%s', (_, header, spam) => {
    expect(spamOf(header, { trustedAuthservId: OWN_SERVER })).toBe(spam);
  });

  it('Microsoft’s fields are not read there: nothing but Exchange removes a sender’s copy', () => {
    const header = ownStamping(`X-MS-Exchange-Organization-SCL: -1\n${SENDER_FIELDS}`);
    expect(spamOf(header, { trustedAuthservId: OWN_SERVER })).toBe('DISABLED');
  });
});

describe('Microsoft 365: only the block Exchange appended', () => {
  const office = (header: string) => spamOf(header, { host: 'outlook.office365.com' });
  /** Exchange's verdict with only its Forefront report (no SCL field): what the report says decides. */
  const EXCHANGE_FOREFRONT_SPAM = MICROSOFT_SPAM.split('\n')[1]!;
  const FORGED_FOREFRONT = 'X-Forefront-Antispam-Report: CIP:198.51.100.7;CTRY:;LANG:en;SCL:-1;SFV:SKN;';

  it('a forged X-Forefront-Antispam-Report above the real one → the real one’s verdict', () => {
    const forged = microsoft365(MICROSOFT_PASS, EXCHANGE_FOREFRONT_SPAM).replace(
      SENDER_FIELDS,
      `${FORGED_FOREFRONT}\n${SENDER_FIELDS}`,
    );
    expect(office(forged)).toBe('FAIL');
  });

  it('the real report says not spam; a forged spam report among the sender’s fields changes nothing', () => {
    const clean = MICROSOFT_CLEAN.split('\n')[1]!;
    const forged = microsoft365(MICROSOFT_PASS, clean).replace(
      SENDER_FIELDS,
      `${SENDER_FIELDS}\n${EXCHANGE_FOREFRONT_SPAM.replace('SCL:9', 'SCL:8')}`,
    );
    expect(office(forged)).toBe('PASS');
  });

  it('no Exchange block at all (no X-MS-Exchange-Organization-* field): a sender’s report is not read', () => {
    expect(office(`${FORGED_FOREFRONT}\n${SENDER_FIELDS}`)).toBe('DISABLED');
  });

  it('Exchange’s SCL and report as Exchange writes them are read', () => {
    expect(office(microsoft365(MICROSOFT_PASS, MICROSOFT_SPAM))).toBe('FAIL');
    expect(office(microsoft365(MICROSOFT_PASS, MICROSOFT_CLEAN))).toBe('PASS');
  });
});

describe('past the 64 KiB header cut', () => {
  const filler = `X-Sender-Trace: ${'t'.repeat(900)}\n`.repeat(80);

  it('a forged report the cut keeps in place of Exchange’s is still not read: DISABLED, never the forgery', () => {
    // Only the first field of each wanted name is kept past the cut: the sender's report, not Exchange's.
    const exchange = MICROSOFT_CLEAN.split('\n')[1]!.replace('SCL:1', 'SCL:9').replace('NSPM', 'SPM');
    const header = `${filler}X-Forefront-Antispam-Report: CIP:198.51.100.7;SCL:-1;SFV:SKN;
${SENDER_FIELDS}
X-MS-Exchange-Organization-AuthAs: Anonymous
${exchange}`;
    const notification = notifyHeaders(header, { host: 'outlook.office365.com' });
    expect(notification.mail.headersTruncated).toBe(true);
    expect(rowOf(notification.receipt).spam).toBe('DISABLED');
  });
});
