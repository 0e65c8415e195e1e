/**
 * spamVerdict from what a spam filter on the receiving side stamped. SES: PASS (not spam), FAIL (spam),
 * GRAY (could not tell), PROCESSING_FAILED (the scan did not work), DISABLED (not scanned).
 *
 * The fields are read in this order and the first one present that can be read decides; only the topmost
 * occurrence of each name counts:
 * 1. `X-MS-Exchange-Organization-SCL` (Microsoft 365): the spam confidence level, -1 (skipped: trusted
 *    sender or internal) to 9; 5 and above is spam (Microsoft, "Spam confidence level"). Exchange's header
 *    firewall removes X-MS-Exchange-Organization-* fields that arrive from outside, so a sender cannot set it.
 * 2. `X-Forefront-Antispam-Report` (Microsoft 365): its `SCL:n` as above, else its `SFV:` verdict
 *    (SPM, SKS, BLK, SKB: spam; NSPM, SKN, SKI, SKA, SFE, SKQ: not spam or filtering skipped on purpose).
 * 3. `X-Spam-Flag` (SpamAssassin, rspamd): YES / NO.
 * 4. `X-Spam-Status` (SpamAssassin, rspamd): `Yes, score=7.1 required=5.0 ...` / `No, ...`.
 * 5. `X-Spam` (rspamd): Yes / No (rspamd adds it at its "add header" action).
 * 6. `X-Spamd-Result` (rspamd): `default: True [17.4 / 15.0]; ...` is spam, `default: False` is not.
 * SpamAssassin, and rspamd with its milter_headers removal settings, replace the fields of these names
 * that a message arrives with; a field the sender wrote survives only where no such filter runs, which is
 * why these come after Microsoft's (docs/notification.md says so to users).
 * A field present but unreadable gives PROCESSING_FAILED when no later one can be read.
 *
 * A mailbox at a known provider reads only the fields that provider writes: Microsoft 365 its two; Gmail
 * and Fastmail none of these (so spamVerdict stays DISABLED), because any such field in their mail was
 * written by the sender or an earlier hop, not by the provider.
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

const PROVIDER_SPAM_FIELDS: Readonly<Record<Provider, readonly string[]>> = {
  microsoft365: ['X-MS-Exchange-Organization-SCL', 'X-Forefront-Antispam-Report'],
  gmail: [],
  fastmail: [],
};

/** The spam verdict of a message from its header fields; DISABLED when no filter left a field. */
export function spamVerdictOf(fields: readonly HeaderField[], provider?: Provider): SesVerdict {
  const allowed = provider === undefined ? undefined : PROVIDER_SPAM_FIELDS[provider];
  let unreadable = false;
  for (const [name, read] of READERS) {
    if (allowed !== undefined && !allowed.includes(name)) continue;
    const value = firstField(fields, name);
    if (value === undefined) continue;
    const status = read(value);
    if (status !== undefined) return { status };
    unreadable = true;
  }
  return { status: unreadable ? 'PROCESSING_FAILED' : 'DISABLED' };
}
