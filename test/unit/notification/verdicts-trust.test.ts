/**
 * Which Authentication-Results fields are believed (lib/notification/verdicts.ts): only the topmost run,
 * only trusted authserv-ids, never a field a sender could have written below the provider's; damaged
 * fields never stop a notification. Also the mail corpus's real A-R fields, and fields past the 64 KiB cut.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LATE_AUTH_RESULTS_MAX } from '../../../lib/notification/late-fields.ts';
import {
  GMAIL_PASS,
  GMAIL_SPOOFED,
  gmail,
  MICROSOFT_PASS,
  notifyHeaders,
  rowOf,
  SENDER_FIELDS,
} from '../../support/verdict-samples.ts';

const FORGED_PASS =
  'Authentication-Results: mx.google.com; dkim=pass header.i=@bank.example; spf=pass smtp.mailfrom=bank.example; dmarc=pass header.from=bank.example';
const ALL_DISABLED = {
  spf: 'DISABLED',
  dkim: 'DISABLED',
  dmarc: 'DISABLED',
  spam: 'DISABLED',
  dmarcPolicy: undefined,
};

const gmailRow = (header: string) => rowOf(notifyHeaders(header, { host: 'pop.gmail.com' }).receipt);

describe('forged and untrusted Authentication-Results are ignored', () => {
  it('a forged mx.google.com field among the sender fields, below Gmail’s own, changes nothing', () => {
    const forged = gmail(
      GMAIL_SPOOFED,
      `DKIM-Signature: v=1; d=bank.example; b=x\n${FORGED_PASS}\n${SENDER_FIELDS}`,
    );
    expect(gmailRow(forged)).toEqual({
      spf: 'GRAY',
      dkim: 'DISABLED',
      dmarc: 'FAIL',
      spam: 'DISABLED',
      dmarcPolicy: 'quarantine',
    });
  });

  it('a forged field directly below Gmail’s (sender talking to the MX itself) adds nothing: Gmail writes one field', () => {
    const adjacent = gmail(GMAIL_SPOOFED, `${FORGED_PASS}\n${SENDER_FIELDS}`);
    expect(gmailRow(adjacent)).toEqual({
      spf: 'GRAY',
      dkim: 'DISABLED',
      dmarc: 'FAIL',
      spam: 'DISABLED',
      dmarcPolicy: 'quarantine',
    });
  });

  it('with a trustedAuthservId of one’s own, a field directly below cannot override a method reported above', () => {
    const forged = FORGED_PASS.replace('mx.google.com', 'mail.example.com');
    const header = `Authentication-Results: mail.example.com; dmarc=fail (p=reject) header.from=bank.example\n${forged}\n${SENDER_FIELDS}`;
    const result = rowOf(notifyHeaders(header, { trustedAuthservId: 'mail.example.com' }).receipt);
    expect(result.dmarc).toBe('FAIL');
    // Merged from the field below (how OpenDKIM and OpenDMARC fields of one hop are read).
    expect(result.spf).toBe('PASS');
  });

  it('a mx.google.com field below a non-trusted hop is ignored: the topmost run is that hop’s', () => {
    // The message reached Gmail through a relay that stamped its own results; the sender's claim is older.
    const relayed = `Received: from relay.example.net (relay.example.net [192.0.2.9]) by mx.google.com with ESMTPS id x1
Authentication-Results: relay.example.net; spf=fail smtp.mailfrom=bank.example
Received: from attacker.example (attacker.example [198.51.100.7]) by relay.example.net with ESMTP id y2
${FORGED_PASS}
${SENDER_FIELDS}`;
    expect(gmailRow(relayed)).toEqual(ALL_DISABLED);
  });

  it('a mx.google.com field below a Received field, with nothing stamped above it, still counts only as the topmost run', () => {
    // Defined behaviour: the topmost run is the one read; no earlier stamping exists here to prefer.
    const header = `Received: from relay.example.net by mx.google.com with ESMTPS id x1\n${FORGED_PASS}\n${SENDER_FIELDS}`;
    expect(gmailRow(header).dmarc).toBe('PASS');
  });

  it.each([
    ['a look-alike authserv-id', 'mx.goog1e.com'],
    ['a longer name ending in the trusted one', 'evilmx.google.com'],
    ['the trusted name as a prefix', 'mx.google.com.attacker.example'],
    ['the id-less Microsoft form for a Gmail mailbox', undefined],
  ])('%s is not trusted', (_, id) => {
    const value = id === undefined ? MICROSOFT_PASS : GMAIL_PASS.replace('mx.google.com', id);
    expect(gmailRow(gmail(value))).toEqual(ALL_DISABLED);
  });

  it('`*.messagingengine.com` trusts mx6.messagingengine.com, not evil-messagingengine.com or messagingengine.com.evil', () => {
    const fm = (id: string) =>
      rowOf(
        notifyHeaders(
          `Authentication-Results: ${id}; spf=pass smtp.mailfrom=a@example.org\n${SENDER_FIELDS}`,
          {
            host: 'pop.fastmail.com',
          },
        ).receipt,
      ).spf;
    expect(fm('mx6.messagingengine.com')).toBe('PASS');
    expect(fm('evil-messagingengine.com')).toBe('DISABLED');
    expect(fm('messagingengine.com.evil.example')).toBe('DISABLED');
  });

  it('`none` as the whole result: nothing was checked, DISABLED', () => {
    expect(gmailRow(gmail('mx.google.com; none'))).toEqual(ALL_DISABLED);
  });
});

describe('spam fields are read only from the filter the mailbox’s provider runs', () => {
  const spam = (fields: string, host: string) =>
    rowOf(notifyHeaders(`${fields}\n${SENDER_FIELDS}`, { host }).receipt).spam;

  it('Gmail and Fastmail write none of them: a sender’s X-Spam-Flag: NO is not read', () => {
    expect(spam('X-Spam-Flag: NO\nX-Spam-Status: No, score=-5.0', 'pop.gmail.com')).toBe('DISABLED');
    expect(spam('X-Spamd-Result: default: False [0.00 / 15.00]', 'pop.fastmail.com')).toBe('DISABLED');
  });

  it('Microsoft 365 reads only its own SCL fields, not a SpamAssassin field', () => {
    expect(spam('X-Spam-Flag: NO\nX-MS-Exchange-Organization-SCL: 6', 'outlook.office365.com')).toBe('FAIL');
    expect(spam('X-Spam-Flag: NO', 'outlook.office365.com')).toBe('DISABLED');
  });

  it('any other host reads none of them unless its own trusted server stamped the message', () => {
    expect(spam('X-Spam-Flag: NO', 'mail.example.com')).toBe('DISABLED');
  });
});

describe('damaged Authentication-Results never stop a notification', () => {
  it.each([
    ['garbage after the authserv-id', 'mx.google.com; ))) ;;; ===', 'PROCESSING_FAILED'],
    ['an unterminated comment', 'mx.google.com; spf=pass (unterminated smtp.mailfrom=x', 'PASS'],
    ['an unterminated quoted string', 'mx.google.com; dmarc="fail', 'PROCESSING_FAILED'],
    ['an empty value', '', 'DISABLED'],
    ['only a semicolon', ';', 'DISABLED'],
  ])('%s', (_, value, spf) => {
    expect(gmailRow(gmail(value)).spf).toBe(spf);
  });

  it('any value: no throw, every status one of SES’s', () => {
    const statuses = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'];
    const piece = fc.constantFrom(
      'mx.google.com',
      ';',
      '=',
      '(',
      ')',
      '"',
      '\\',
      ' ',
      'spf',
      'dkim',
      'dmarc',
      'pass',
      'p=reject',
      '.',
      '/',
      '@',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 5 })), { maxLength: 40 }), (parts) => {
        const value = parts.join('').replace(/[\r\n]/g, ' ');
        const result = gmailRow(gmail(value));
        for (const status of [result.spf, result.dkim, result.dmarc, result.spam])
          expect(statuses).toContain(status);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fields past the 64 KiB header cut', () => {
  const filler = (bytes: number) => `X-Provider-Trace: ${'t'.repeat(900)}\n`.repeat(Math.ceil(bytes / 920));

  it('the topmost run and spam fields after 70 KiB of provider fields are still read', () => {
    const header = `${filler(70 * 1024)}Authentication-Results: mail.example.com; spf=pass smtp.mailfrom=a@example.org
Authentication-Results: mail.example.com; dmarc=fail (p=reject) header.from=example.org
X-Spam-Status: Yes, score=9.9 required=5.0
${FORGED_PASS.replace('mx.google.com', 'mail.example.com')}
${SENDER_FIELDS}`;
    const notification = notifyHeaders(header, { trustedAuthservId: 'mail.example.com' });
    expect(notification.mail.headersTruncated).toBe(true);
    expect(rowOf(notification.receipt)).toEqual({
      spf: 'PASS',
      dkim: 'DISABLED',
      dmarc: 'FAIL',
      spam: 'FAIL',
      dmarcPolicy: 'reject',
    });
  });

  it('a run that ended before the cut is not continued by a forged field after it', () => {
    const header = `Authentication-Results: mail.example.com; dmarc=fail (p=reject) header.from=example.org
${filler(70 * 1024)}${FORGED_PASS.replace('mx.google.com', 'mail.example.com')}
${SENDER_FIELDS}`;
    const { receipt } = notifyHeaders(header, { trustedAuthservId: 'mail.example.com' });
    expect(rowOf(receipt)).toMatchObject({ dmarc: 'FAIL', spf: 'DISABLED', dkim: 'DISABLED' });
  });

  it(`keeps at most ${LATE_AUTH_RESULTS_MAX} fields of a run past the cut`, () => {
    const run = Array.from(
      { length: 50 },
      (_, i) => `Authentication-Results: mail.example.com; x-n${i}=pass`,
    ).join('\n');
    const { mail } = notifyHeaders(`${filler(70 * 1024)}${run}\n${SENDER_FIELDS}`, {
      trustedAuthservId: 'mail.example.com',
    });
    const kept = mail.headers.filter((field) => field.name === 'Authentication-Results');
    expect(kept).toHaveLength(LATE_AUTH_RESULTS_MAX);
  });
});

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const corpusDir = process.env.MAIL_CORPUS ?? path.resolve(repoRoot, '../shared/corpus');
const corpus = (file: string) => readFileSync(path.join(corpusDir, file));

describe.skipIf(!existsSync(corpusDir))('Authentication-Results in the mail corpus', () => {
  const row = (file: string, trustedAuthservId: string | string[]) =>
    rowOf(notifyHeaders(corpus(file), { trustedAuthservId }).receipt);

  it('SpamAssassin authres sample: the six contiguous fields at the top form the run, merged', () => {
    const file = 'spamassassin__t__data__nice__authres.eml';
    // authrestest1int: spf=pass, dkim=pass and dkim=fail (one valid signature is enough).
    expect(row(file, 'authrestest1int')).toMatchObject({ spf: 'PASS', dkim: 'PASS', dmarc: 'DISABLED' });
    // authrestest2int: dmarc=none; authrestest3int's spf=fail is not reached (1 reported spf first).
    expect(row(file, ['authrestest2int', 'authrestest3int'])).toMatchObject({ spf: 'FAIL', dmarc: 'GRAY' });
    expect(row(file, ['authrestest1int', 'authrestest3int']).spf).toBe('PASS');
    // Version "2" and a commented `reason (BAH) = "..."` are read.
    expect(row(file, 'authrestest4int').spf).toBe('FAIL');
    expect(row(file, 'authrestest6int').dkim).toBe('FAIL');
    // Below a Received field and below the run: never read, whatever the mailbox trusts.
    expect(row(file, 'authrestest7tru')).toMatchObject({ spf: 'DISABLED', dkim: 'DISABLED' });
    expect(row(file, 'authrestest8ext').spf).toBe('DISABLED');
  });

  it.each([
    ['stalwart-dovecot__resources__eml__thirdparty__015.eml', 'gmx.net', { dkim: 'PASS', spf: 'DISABLED' }],
    ['spamassassin__t__data__txrep__6.eml', 'mx.domain.tld', { dkim: 'PASS', spf: 'PASS' }],
    [
      'spamassassin__t__data__dkim__arc__ok01.eml',
      'sa-test.spamassassin.org',
      { dkim: 'PASS', spf: 'PROCESSING_FAILED' },
    ],
  ])('%s trusted as %s', (file, id, expected) => {
    expect(row(file, id)).toMatchObject(expected);
  });

  it('every corpus message, trusting its own topmost authserv-id, gets SES statuses only', () => {
    const files = readdirSync(corpusDir).filter((name) => name.endsWith('.eml'));
    for (const file of files) {
      const id =
        /^Authentication-Results:[ \t]*([^\s;]+)/im.exec(corpus(file).toString('latin1'))?.[1] ??
        'none.invalid';
      const result = row(file, id);
      for (const status of [result.spf, result.dkim, result.dmarc, result.spam])
        expect(['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED']).toContain(status);
    }
  });
});
