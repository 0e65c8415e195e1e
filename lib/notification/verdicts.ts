/**
 * The SES receipt verdicts (spfVerdict, dkimVerdict, dmarcVerdict, dmarcPolicy, spamVerdict) taken from
 * what the receiving provider already decided and stamped into the message. docs/notification.md has the
 * mapping table and the reasons for it.
 *
 * Which Authentication-Results fields count (RFC 8601 §5, §7.2): every MTA on the way prepends its trace
 * fields, so the fields the receiving provider wrote are above everything the sender or an earlier hop
 * wrote, and the provider must remove or rename fields that claim its own authserv-id when the message
 * comes in. So:
 * 1. Only the TOPMOST RUN counts: the first Authentication-Results field from the top of the header
 *    section and the Authentication-Results fields directly below it (no other field between; milters
 *    such as OpenDKIM and OpenDMARC each prepend one field in the same pass). The run is the newest
 *    stamping; every field below it was written earlier, by the sender or a hop before, and is ignored
 *    whatever authserv-id it claims (a `mx.google.com` field below a relay's own field, or among the
 *    sender's fields below Gmail's).
 * 2. Within the run, only fields whose authserv-id the mailbox trusts (trusted-authserv.ts) count. When
 *    the run holds none, nothing is read (the verdicts stay DISABLED): the newest stamping is not ours.
 * 3. When several trusted fields in the run report the same method, the topmost one that reports it is
 *    used, so a field below the provider's cannot override what the provider said. With a provider
 *    default (Gmail, Microsoft 365, Fastmail: one field per message) only the topmost trusted field is
 *    read at all, so a sender's field directly below it cannot add a method the provider left out.
 * What this cannot catch: a provider that stamps nothing on a message (so the sender's own field is the
 * topmost) and does not remove fields with its own authserv-id, against RFC 8601 §5. Gmail, Microsoft 365
 * and Fastmail stamp every inbound message.
 */
import { type AuthResult, parseAuthenticationResults } from './authentication-results.ts';
import type { HeaderField } from './header-fields.ts';
import { spamVerdictOf } from './spam-verdict.ts';
import { authservIdTrusted, type TrustedAuthserv } from './trusted-authserv.ts';
import type { SesDmarcPolicy, SesVerdict, SesVerdictStatus } from './types.ts';

export interface Verdicts {
  readonly spfVerdict: SesVerdict;
  readonly dkimVerdict: SesVerdict;
  readonly dmarcVerdict: SesVerdict;
  readonly spamVerdict: SesVerdict;
  /** Only when dmarcVerdict is FAIL and the provider said what the sender's policy is (as SES). */
  readonly dmarcPolicy: SesDmarcPolicy | undefined;
}

const verdict = (status: SesVerdictStatus): SesVerdict => ({ status });
const DISABLED = verdict('DISABLED');

const AUTHENTICATION_RESULTS = 'authentication-results';

/** The topmost run of Authentication-Results fields (rule 1 above), in order. */
export function topAuthenticationResults(fields: readonly HeaderField[]): HeaderField[] {
  const start = fields.findIndex((field) => field.name.toLowerCase() === AUTHENTICATION_RESULTS);
  if (start === -1) return [];
  let end = start;
  while (end < fields.length && fields[end]!.name.toLowerCase() === AUTHENTICATION_RESULTS) end++;
  return fields.slice(start, end);
}

/** Whether the topmost run holds a field of an authserv-id the mailbox trusts: the newest stamping is its own. */
export function topRunTrusted(fields: readonly HeaderField[], trusted: TrustedAuthserv): boolean {
  return topAuthenticationResults(fields).some((field) =>
    authservIdTrusted(parseAuthenticationResults(field.value).authservId, trusted.ids),
  );
}

/**
 * RFC 7208 §2.6 / RFC 8601 §2.7.2 result → SES status. neutral is GRAY: the domain owner explicitly
 * asserts nothing (RFC 7208 §8.2). softfail is GRAY too: only a weak statement that the host is probably
 * not authorised, which RFC 7208 §8.5 says not to reject on alone, and SES's FAIL is what consumers reject on.
 * permerror is FAIL: the sender's own record is broken, the sender cannot be authenticated and a retry
 * will not change that (PROCESSING_FAILED is for a check that could not be done, temperror).
 */
const SPF: Readonly<Record<string, SesVerdictStatus>> = {
  pass: 'PASS',
  fail: 'FAIL',
  hardfail: 'FAIL',
  softfail: 'GRAY',
  neutral: 'GRAY',
  none: 'GRAY',
  policy: 'FAIL',
  temperror: 'PROCESSING_FAILED',
  permerror: 'FAIL',
};

/**
 * RFC 6376 / RFC 8601 §2.7.1 → SES. none (not signed) is SES's GRAY. neutral (signed, but the signature
 * could not be processed), policy (valid but not acceptable to the receiver) and permerror are FAIL: the
 * message is signed and the signature does not authenticate it.
 */
const DKIM: Readonly<Record<string, SesVerdictStatus>> = {
  pass: 'PASS',
  fail: 'FAIL',
  neutral: 'FAIL',
  policy: 'FAIL',
  permerror: 'FAIL',
  none: 'GRAY',
  temperror: 'PROCESSING_FAILED',
};

/**
 * RFC 7489 §11.2 / RFC 8601 → SES. none (no DMARC record) is SES's GRAY; so is permerror (an unusable
 * record is no policy, RFC 7489 §6.6.3) and Microsoft's bestguesspass (no record; it would have passed).
 */
const DMARC: Readonly<Record<string, SesVerdictStatus>> = {
  pass: 'PASS',
  fail: 'FAIL',
  none: 'GRAY',
  permerror: 'GRAY',
  bestguesspass: 'GRAY',
  temperror: 'PROCESSING_FAILED',
};

/** Order of preference when a method is reported more than once (several DKIM signatures). */
const DKIM_PREFERENCE: readonly SesVerdictStatus[] = ['PASS', 'FAIL', 'PROCESSING_FAILED', 'GRAY'];

function statusOf(table: Readonly<Record<string, SesVerdictStatus>>, result: AuthResult): SesVerdictStatus {
  // An unknown result word means the provider said something we cannot read.
  return Object.hasOwn(table, result.result) ? table[result.result]! : 'PROCESSING_FAILED';
}

/**
 * The results of the trusted fields of the topmost run, each method from the topmost field reporting it;
 * `unreadable` when a trusted field had parts that could not be read (a method missing from `results`
 * may be in them).
 */
export function trustedResults(
  fields: readonly HeaderField[],
  trusted: TrustedAuthserv,
): { results: AuthResult[]; unreadable: boolean } {
  const byMethod = new Map<string, AuthResult[]>();
  let unreadable = false;
  for (const field of topAuthenticationResults(fields)) {
    const parsed = parseAuthenticationResults(field.value);
    if (!authservIdTrusted(parsed.authservId, trusted.ids)) continue;
    unreadable ||= parsed.malformed;
    const found = new Map<string, AuthResult[]>();
    for (const result of parsed.results)
      found.set(result.method, [...(found.get(result.method) ?? []), result]);
    for (const [method, results] of found) if (!byMethod.has(method)) byMethod.set(method, results);
    if (trusted.oneField) break;
  }
  return { results: [...byMethod.values()].flat(), unreadable };
}

function spfStatus(results: readonly AuthResult[], absent: SesVerdict): SesVerdict {
  const spf = results.filter((result) => result.method === 'spf');
  // SES checks the MAIL FROM identity; a HELO check is used only when that is all there is.
  const chosen = spf.find((result) => result.properties.has('smtp.mailfrom')) ?? spf[0];
  return chosen === undefined ? absent : verdict(statusOf(SPF, chosen));
}

function dkimStatus(results: readonly AuthResult[], absent: SesVerdict): SesVerdict {
  const statuses = results
    .filter((result) => result.method === 'dkim')
    .map((result) => statusOf(DKIM, result));
  // One valid signature authenticates the message (RFC 6376 §6.1): the best result counts.
  const best = DKIM_PREFERENCE.find((status) => statuses.includes(status));
  return best === undefined ? absent : verdict(best);
}

/**
 * The sender's published policy, from what the provider wrote: `policy.published-domain-policy`
 * (Fastmail), `p=` in a comment (Gmail, OpenDMARC: `(p=REJECT sp=NONE dis=NONE)`), `policy=` in a
 * comment (rspamd: `(policy=reject)`), or Microsoft's
 * `action=` (`oreject`/`o.reject`: reject overridden; `pct.quarantine`/`pct.reject`: the policy, not
 * applied because of pct=).
 */
export function dmarcPolicyOf(result: AuthResult): SesDmarcPolicy | undefined {
  const candidates = [
    result.properties.get('policy.published-domain-policy'),
    ...result.comments.map((comment) => /(?:^|[\s;,])(?:p|policy)=([a-z]+)/i.exec(comment)?.[1]),
    result.properties.get('action')?.replace(/^(?:o\.?|pct\.|sp\.)(?=quarantine|reject)/i, ''),
  ];
  for (const candidate of candidates) {
    const policy = candidate?.toLowerCase();
    if (policy === 'none' || policy === 'quarantine' || policy === 'reject') return policy;
  }
  return undefined;
}

/** Every verdict for a message, from its header fields (in order, topmost first). */
export function verdictsOf(fields: readonly HeaderField[], trusted: TrustedAuthserv): Verdicts {
  const { results, unreadable } =
    trusted.ids.length === 0 ? { results: [], unreadable: false } : trustedResults(fields, trusted);
  // A method the trusted provider did not report was not checked, unless part of its field was unreadable.
  const absent = unreadable ? verdict('PROCESSING_FAILED') : DISABLED;
  const dmarc = results.find((result) => result.method === 'dmarc');
  const dmarcVerdict = dmarc === undefined ? absent : verdict(statusOf(DMARC, dmarc));
  return {
    spfVerdict: spfStatus(results, absent),
    dkimVerdict: dkimStatus(results, absent),
    dmarcVerdict,
    spamVerdict: spamVerdictOf(fields, {
      provider: trusted.provider,
      ownStamping: topRunTrusted(fields, trusted),
    }),
    dmarcPolicy: dmarc !== undefined && dmarcVerdict.status === 'FAIL' ? dmarcPolicyOf(dmarc) : undefined,
  };
}
