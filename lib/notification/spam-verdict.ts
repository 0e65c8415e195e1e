/**
 * spamVerdict from what a spam filter on the receiving side stamped. SES: PASS (not spam), FAIL (spam),
 * GRAY (could not tell), PROCESSING_FAILED (the scan did not work), DISABLED (not scanned).
 *
 * A spam field is read only from the stamping of a filter the mailbox trusts, never from the fields a
 * sender wrote (any sender can write `X-Spam-Status: No` into its own message):
 * - Microsoft 365 (by POP3 host): only Exchange's own block. Exchange appends its X-MS-* and Forefront
 *   fields BELOW the sender's fields, and its header firewall removes X-MS-Exchange-Organization-* fields
 *   that arrive from outside, so the first X-MS-Exchange-Organization-* field starts the block Exchange
 *   wrote and everything the sender wrote stands above it. A sender's `X-Forefront-Antispam-Report`
 *   (which the firewall does not remove) is above that line and is not read; no block, no verdict.
 * - Gmail and Fastmail: none; they write none of these fields, so any in their mail came from the sender
 *   or an earlier hop.
 * - Any other host: the SpamAssassin and rspamd fields, only when the mailbox trusts the newest stamping
 *   (the topmost run of Authentication-Results fields holds a field of a `trustedAuthservId` it set,
 *   lib/notification/verdicts.ts): it then names its own server, whose filter replaces these fields
 *   (SpamAssassin always; rspamd with its milter_headers `remove` settings). A host we know nothing about,
 *   or a message whose newest stamping is not the mailbox's own server's, gives DISABLED. Microsoft's
 *   fields are not read there: nothing but Exchange removes a sender's copy of them.
 *
 * Within what may be read, the fields count in this order and the first one present that can be read
 * decides; only the topmost occurrence of each name counts:
 * 1. `X-MS-Exchange-Organization-SCL` (Microsoft 365): the spam confidence level, -1 (skipped: trusted
 *    sender or internal) to 9; 5 and above is spam (Microsoft, "Spam confidence level").
 * 2. `X-Forefront-Antispam-Report` (Microsoft 365): its `SCL:n` as above, else its `SFV:` verdict
 *    (SPM, SKS, BLK, SKB: spam; NSPM, SKN, SKI, SKA, SFE, SKQ: not spam or filtering skipped on purpose).
 * 3. `X-Spam-Flag` (SpamAssassin, rspamd): YES / NO.
 * 4. `X-Spam-Status` (SpamAssassin, rspamd): `Yes, score=7.1 required=5.0 ...` / `No, ...`.
 * 5. `X-Spam` (rspamd): Yes / No (rspamd adds it at its "add header" action).
 * 6. `X-Spamd-Result` (rspamd): `default: True [17.4 / 15.0]; ...` is spam, `default: False` is not.
 * A field present but unreadable gives PROCESSING_FAILED when no later one can be read.
 */
import { firstField, type HeaderField } from './header-fields.ts';
import type { Provider } from './trusted-authserv.ts';
import type { SesVerdict, SesVerdictStatus } from './types.ts';

/** Microsoft: SCL 5 and above is spam; -1 means filtering was skipped for a trusted sender. */
export const SPAM_SCL_THRESHOLD = 5;

type Reader = (value: string) => SesVerdictStatus | undefined;

function sclStatus(text: string | undefined): SesVerdictStatus | undefined {
  if (text === undefined || !/^\s*-?\d+\s*$/.test(text)) return undefined;
  const scl = Number(text);
  if (scl < -1 || scl > 9) return undefined;
  return scl >= SPAM_SCL_THRESHOLD ? 'FAIL' : 'PASS';
}

const SFV: Readonly<Record<string, SesVerdictStatus>> = {
  SPM: 'FAIL',
  SKS: 'FAIL',
  BLK: 'FAIL',
  SKB: 'FAIL',
  NSPM: 'PASS',
  SKN: 'PASS',
  SKI: 'PASS',
  SKA: 'PASS',
  SFE: 'PASS',
  SKQ: 'PASS',
};

function forefrontStatus(value: string): SesVerdictStatus | undefined {
  const entries = new Map<string, string>();
  for (const entry of value.split(';')) {
    const colon = entry.indexOf(':');
    if (colon > 0) entries.set(entry.slice(0, colon).trim().toUpperCase(), entry.slice(colon + 1).trim());
  }
  const sfv = entries.get('SFV')?.toUpperCase();
  return (
    sclStatus(entries.get('SCL')) ?? (sfv !== undefined && Object.hasOwn(SFV, sfv) ? SFV[sfv] : undefined)
  );
}

function yesNo(pattern: RegExp): Reader {
  return (value) => {
    const word = pattern.exec(value)?.[1]?.toLowerCase();
    if (word === 'yes' || word === 'true') return 'FAIL';
    if (word === 'no' || word === 'false') return 'PASS';
    return undefined;
  };
}

const READERS: readonly (readonly [string, Reader])[] = [
  ['X-MS-Exchange-Organization-SCL', sclStatus],
  ['X-Forefront-Antispam-Report', forefrontStatus],
  ['X-Spam-Flag', yesNo(/^\s*(yes|no)\s*$/i)],
  ['X-Spam-Status', yesNo(/^\s*(yes|no)\b/i)],
  ['X-Spam', yesNo(/^\s*(yes|no)\b/i)],
  ['X-Spamd-Result', yesNo(/^\s*[\w-]+\s*:\s*(true|false)\b/i)],
];

const MICROSOFT_FIELDS = ['X-MS-Exchange-Organization-SCL', 'X-Forefront-Antispam-Report'];
const FILTER_FIELDS = ['X-Spam-Flag', 'X-Spam-Status', 'X-Spam', 'X-Spamd-Result'];

/** Exchange's header firewall removes fields of this prefix that arrive from outside. */
const EXCHANGE_ORGANIZATION_PREFIX = 'x-ms-exchange-organization-';

/** Whose spam fields a mailbox reads: its provider's, or (unknown host) its own server's filter. */
export interface SpamTrust {
  /** The provider of the mailbox's POP3 host (trusted-authserv.ts), if known. */
  readonly provider: Provider | undefined;
  /** True when the topmost Authentication-Results run holds a field of an authserv-id the mailbox trusts. */
  readonly ownStamping: boolean;
}

/** The fields Exchange appended: from the first X-MS-Exchange-Organization-* field to the end. */
function exchangeBlock(fields: readonly HeaderField[]): readonly HeaderField[] {
  const start = fields.findIndex((field) =>
    field.name.toLowerCase().startsWith(EXCHANGE_ORGANIZATION_PREFIX),
  );
  return start === -1 ? [] : fields.slice(start);
}

/** The fields a spam verdict may come from, and which names among them, for this mailbox. */
function readable(
  fields: readonly HeaderField[],
  trust: SpamTrust,
): { fields: readonly HeaderField[]; names: readonly string[] } {
  switch (trust.provider) {
    case 'microsoft365':
      return { fields: exchangeBlock(fields), names: MICROSOFT_FIELDS };
    case 'gmail':
    case 'fastmail':
      return { fields: [], names: [] };
    case undefined:
      return trust.ownStamping ? { fields, names: FILTER_FIELDS } : { fields: [], names: [] };
  }
}

/** The spam verdict of a message from its header fields; DISABLED when no trusted filter left a field. */
export function spamVerdictOf(fields: readonly HeaderField[], trust: SpamTrust): SesVerdict {
  const allowed = readable(fields, trust);
  let unreadable = false;
  for (const [name, read] of READERS) {
    if (!allowed.names.includes(name)) continue;
    const value = firstField(allowed.fields, name);
    if (value === undefined) continue;
    const status = read(value);
    if (status !== undefined) return { status };
    unreadable = true;
  }
  return { status: unreadable ? 'PROCESSING_FAILED' : 'DISABLED' };
}
