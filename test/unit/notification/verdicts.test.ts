/**
 * The SES verdicts filled from what the provider stamped, over header sections in each provider's and
 * filter's public format (test/support/verdict-samples.ts): the mapping table of docs/notification.md.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  fastmail,
  GMAIL_PASS,
  GMAIL_SPOOFED,
  gmail,
  MICROSOFT_CLEAN,
  MICROSOFT_PASS,
  MICROSOFT_SPAM,
  MICROSOFT_SPOOFED,
  microsoft365,
  notifyHeaders,
  openDkimOpenDmarc,
  rowOf,
  rspamd,
  SENDER_FIELDS,
} from '../../support/verdict-samples.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../../schema/notification.schema.json', import.meta.url), 'utf8'),
);
const ajv = new Ajv2020({ allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(schema);

/** The verdicts of the notification for `header`, which must be valid against the published schema. */
function row(header: string, options: Parameters<typeof notifyHeaders>[1] = {}) {
  const notification = notifyHeaders(header, options);
  expect(validate(notification), JSON.stringify(validate.errors)).toBe(true);
  return rowOf(notification.receipt);
}

describe('verdicts from provider defaults (by POP3 host)', () => {
  it.each([
    [
      'Gmail, all pass',
      gmail(GMAIL_PASS),
      'pop.gmail.com',
      { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS', spam: 'DISABLED' },
    ],
    [
      'Gmail, spoofed: softfail, unsigned, DMARC fail with p=QUARANTINE',
      gmail(GMAIL_SPOOFED),
      'pop.gmail.com',
      { spf: 'GRAY', dkim: 'DISABLED', dmarc: 'FAIL', spam: 'DISABLED', dmarcPolicy: 'quarantine' },
    ],
    [
      'Microsoft 365, id-less form, all pass, SCL 1',
      microsoft365(MICROSOFT_PASS, MICROSOFT_CLEAN),
      'outlook.office365.com',
      { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS', spam: 'PASS' },
    ],
    [
      'Microsoft 365, spoofed: spf fail, not signed, action=oreject, SCL 9',
      microsoft365(MICROSOFT_SPOOFED, MICROSOFT_SPAM),
      'outlook.office365.com',
      { spf: 'FAIL', dkim: 'GRAY', dmarc: 'FAIL', spam: 'FAIL', dmarcPolicy: 'reject' },
    ],
    [
      'Fastmail, DMARC fail with policy.published-domain-policy=reject',
      fastmail(
        'dmarc=fail policy.published-domain-policy=reject policy.published-subdomain-policy=none policy.applied-disposition=reject policy.evaluated-disposition=reject (p=reject,d=0,d.eval=0,s=0,s.eval=0,a=0,a.eval=0) header.from=example.org;',
      ),
      'pop.fastmail.com',
      { spf: 'PASS', dkim: 'PASS', dmarc: 'FAIL', spam: 'DISABLED', dmarcPolicy: 'reject' },
    ],
    [
      'Fastmail, DMARC pass (no dmarcPolicy: SES gives it only on FAIL)',
      fastmail('dmarc=pass policy.published-domain-policy=reject header.from=example.org;'),
      'pop.fastmail.com',
      { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS', spam: 'DISABLED' },
    ],
  ])('%s', (_, header, host, expected) => {
    expect(row(header, { host })).toEqual({ dmarcPolicy: undefined, ...expected });
  });

  it('an unknown host trusts nobody: every verdict stays DISABLED', () => {
    expect(row(gmail(GMAIL_PASS), { host: 'pop.example.com' })).toEqual({
      spf: 'DISABLED',
      dkim: 'DISABLED',
      dmarc: 'DISABLED',
      spam: 'DISABLED',
      dmarcPolicy: undefined,
    });
  });

  it('trustedAuthservId replaces the provider default', () => {
    expect(row(gmail(GMAIL_PASS), { host: 'pop.gmail.com', trustedAuthservId: 'mx.example.com' }).spf).toBe(
      'DISABLED',
    );
    expect(
      row(gmail(GMAIL_PASS), { host: 'pop.example.com', trustedAuthservId: ['MX.Google.com'] }).dkim,
    ).toBe('PASS');
  });
});

describe('self-run filters (trustedAuthservId mail.example.com)', () => {
  const trustedAuthservId = 'mail.example.com';

  it.each([
    [
      'rspamd, not spam (default: False)',
      'X-Spamd-Result: default: False [-0.10 / 15.00];\n\tDMARC_POLICY_ALLOW(-0.50)[example.org,reject];\n\tR_SPF_ALLOW(-0.20)[+ip4:192.0.2.25]\nX-Spamd-Bar: /',
      'PASS',
    ],
    [
      'rspamd, reject action (default: True)',
      'X-Spamd-Result: default: True [17.42 / 15.00];\n\tBAYES_SPAM(5.10)[99.99%]',
      'FAIL',
    ],
    [
      'rspamd, add header action (X-Spam: Yes)',
      'X-Spamd-Result: default: False [7.20 / 15.00];\n\tBAYES_SPAM(5.10)[99.99%]\nX-Spam: Yes',
      'FAIL',
    ],
    ['rspamd x-spam-status routine', 'X-Spam-Status: Yes, score=8.20', 'FAIL'],
  ])('%s', (_, spamFields, spam) => {
    expect(row(rspamd(spamFields), { trustedAuthservId })).toEqual({
      spf: 'PASS',
      dkim: 'PASS',
      dmarc: 'PASS',
      spam,
      dmarcPolicy: undefined,
    });
  });

  it('rspamd DMARC failure carries the policy from its (policy=...) comment', () => {
    const header = rspamd(
      'X-Spam: Yes',
      'dmarc=fail reason="No valid SPF, No valid DKIM" header.from=example.org (policy=reject)',
    );
    expect(row(header, { trustedAuthservId })).toMatchObject({ dmarc: 'FAIL', dmarcPolicy: 'reject' });
  });

  it.each([
    [
      'SpamAssassin spam',
      'X-Spam-Flag: YES\nX-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,HTML_MESSAGE,RDNS_NONE\n\tautolearn=no autolearn_force=no version=3.4.6',
      'FAIL',
    ],
    [
      'SpamAssassin ham',
      'X-Spam-Status: No, score=-0.1 required=5.0 tests=DKIM_SIGNED,SPF_PASS\n\tautolearn=ham version=4.0.0',
      'PASS',
    ],
    ['SpamAssassin flag alone', 'X-Spam-Flag: NO', 'PASS'],
  ])('OpenDKIM + OpenDMARC + SPF milter fields, merged, with %s', (_, spamFields, spam) => {
    // One field per milter, contiguous: permerror SPF is FAIL, a failed signature FAIL, DMARC FAIL with p=.
    expect(row(openDkimOpenDmarc(spamFields), { trustedAuthservId })).toEqual({
      spf: 'FAIL',
      dkim: 'FAIL',
      dmarc: 'FAIL',
      spam,
      dmarcPolicy: 'reject',
    });
  });
});

describe('result keyword mapping', () => {
  const spfOf = (result: string) =>
    row(
      `Authentication-Results: mx.example.com; spf=${result} smtp.mailfrom=a@example.org\n${SENDER_FIELDS}`,
      {
        trustedAuthservId: 'mx.example.com',
      },
    ).spf;
  const dkimOf = (results: string) =>
    row(`Authentication-Results: mx.example.com; ${results}\n${SENDER_FIELDS}`, {
      trustedAuthservId: 'mx.example.com',
    }).dkim;
  const dmarcOf = (result: string) =>
    row(`Authentication-Results: mx.example.com; dmarc=${result} header.from=example.org\n${SENDER_FIELDS}`, {
      trustedAuthservId: 'mx.example.com',
    }).dmarc;

  it.each([
    ['pass', 'PASS'],
    ['fail', 'FAIL'],
    ['softfail', 'GRAY'],
    ['neutral', 'GRAY'],
    ['none', 'GRAY'],
    ['temperror', 'PROCESSING_FAILED'],
    ['permerror', 'FAIL'],
    ['PASS', 'PASS'],
    ['bogus', 'PROCESSING_FAILED'],
  ])('spf=%s → %s', (result, status) => expect(spfOf(result)).toBe(status));

  it.each([
    ['dkim=pass', 'PASS'],
    ['dkim=fail', 'FAIL'],
    ['dkim=neutral', 'FAIL'],
    ['dkim=policy', 'FAIL'],
    ['dkim=permerror', 'FAIL'],
    ['dkim=none', 'GRAY'],
    ['dkim=temperror', 'PROCESSING_FAILED'],
    ['dkim=fail header.d=a.example; dkim=pass header.d=b.example', 'PASS'],
    ['dkim=temperror header.d=a.example; dkim=fail header.d=b.example', 'FAIL'],
    ['spf=pass smtp.mailfrom=a@example.org', 'DISABLED'],
  ])('%s → %s', (results, status) => expect(dkimOf(results)).toBe(status));

  it.each([
    ['pass', 'PASS'],
    ['fail', 'FAIL'],
    ['none', 'GRAY'],
    ['bestguesspass', 'GRAY'],
    ['permerror', 'GRAY'],
    ['temperror', 'PROCESSING_FAILED'],
  ])('dmarc=%s → %s', (result, status) => expect(dmarcOf(result)).toBe(status));

  it('SPF of the MAIL FROM identity is preferred to a HELO check', () => {
    const header = `Authentication-Results: mx.example.com; spf=none smtp.helo=mail.example.org;\n spf=pass smtp.mailfrom=a@example.org\n${SENDER_FIELDS}`;
    expect(row(header, { trustedAuthservId: 'mx.example.com' }).spf).toBe('PASS');
  });

  // Microsoft's fields as Exchange appends them, below the sender's and its first X-MS-Exchange-Organization-* field.
  it.each([
    ['X-MS-Exchange-Organization-SCL: -1', 'PASS'],
    ['X-MS-Exchange-Organization-SCL: 4', 'PASS'],
    ['X-MS-Exchange-Organization-SCL: 5', 'FAIL'],
    ['X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:;LANG:en;SFV:SKN;', 'PASS'],
    ['X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:BLK;', 'FAIL'],
    ['X-Forefront-Antispam-Report: CIP:192.0.2.1;SCL:6;SFV:NSPM;', 'FAIL'],
    ['X-MS-Exchange-Organization-SCL: 1\nX-Spam-Flag: YES', 'PASS'],
    ['X-MS-Exchange-Organization-SCL: lots\nX-Forefront-Antispam-Report: SFV:NSPM;', 'PASS'],
    ['X-MS-Exchange-Organization-SCL: lots', 'PROCESSING_FAILED'],
  ])('Microsoft 365: %s → spam %s', (fields, spam) => {
    const header = `${SENDER_FIELDS}\nX-MS-Exchange-Organization-AuthAs: Anonymous\n${fields}`;
    expect(row(header, { host: 'outlook.office365.com' }).spam).toBe(spam);
  });

  // A filter on the mailbox's own server: its authserv-id stamped the message and the mailbox trusts it.
  it.each([
    ['X-Spam-Status: maybe', 'PROCESSING_FAILED'],
    ['X-Spam-Status: maybe\nX-Spam: No', 'PASS'],
    ['X-Spam-Flag: YES\nX-Spam-Status: No, score=0.0', 'FAIL'],
  ])('own server’s filter: %s → spam %s', (fields, spam) => {
    const header = `Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=a@example.org\n${fields}\n${SENDER_FIELDS}`;
    expect(row(header, { trustedAuthservId: 'mx.example.com' }).spam).toBe(spam);
  });
});
