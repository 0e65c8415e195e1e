/**
 * Whose Authentication-Results a mailbox believes (RFC 8601 §1.6 and §5: a reader trusts only the
 * authserv-ids of its own administrative domain). A mailbox sets `trustedAuthservId`; without it, the
 * provider default for its POP3 host applies, and a host we know nothing about trusts nobody (every
 * verdict stays DISABLED, as before).
 */

/**
 * The authserv-id `authservIdTrusted` gives a field without one. Microsoft 365 (Exchange Online
 * Protection) writes `Authentication-Results: spf=pass (sender IP is ...) smtp.mailfrom=...` with no
 * authserv-id at all, so "trust the id-less form" is written as the empty string.
 */
export const NO_AUTHSERV_ID = '';

/** A mailbox provider whose stamping we know, recognised by its POP3 host. */
export type Provider = 'gmail' | 'microsoft365' | 'fastmail';

const PROVIDER_BY_HOST: ReadonlyMap<string, Provider> = new Map([
  ['pop.gmail.com', 'gmail'],
  ['outlook.office365.com', 'microsoft365'],
  ['pop-mail.outlook.com', 'microsoft365'],
  ['pop.fastmail.com', 'fastmail'],
]);

/**
 * What each provider stamps on inbound mail:
 * - Gmail and Google Workspace: `Authentication-Results: mx.google.com; dkim=...; spf=...; dmarc=...`.
 * - Microsoft 365 and Outlook.com (both on Exchange Online Protection): the id-less form above.
 * - Fastmail: `Authentication-Results: mx<N>.messagingengine.com; ...` (the number is the MX host).
 */
const PROVIDER_AUTHSERV_IDS: Readonly<Record<Provider, readonly string[]>> = {
  gmail: ['mx.google.com'],
  microsoft365: [NO_AUTHSERV_ID],
  fastmail: ['mx.messagingengine.com', '*.messagingengine.com'],
};

/** The provider of a POP3 host, or undefined for a host we know nothing about. */
export function providerOf(host: string): Provider | undefined {
  return PROVIDER_BY_HOST.get(host.toLowerCase().replace(/\.$/, ''));
}

/** Whose Authentication-Results a mailbox reads. */
export interface TrustedAuthserv {
  readonly ids: readonly string[];
  /**
   * Read only the topmost trusted field, not the trusted fields directly below it. True for the provider
   * defaults: Gmail, Microsoft 365 and Fastmail write exactly one field per message, so a second field
   * right below theirs can only be one the sender put at the top of its message (verdicts.ts, rule 3).
   */
  readonly oneField: boolean;
  /** The provider of the mailbox's host (whose spam fields are read, spam-verdict.ts), if known. */
  readonly provider: Provider | undefined;
}

/** The authserv-ids a mailbox trusts: its own setting, else its provider's default, else none. */
export function trustedAuthservIds(
  host: string,
  configured: string | readonly string[] | undefined,
): TrustedAuthserv {
  const provider = providerOf(host);
  if (configured !== undefined) {
    const ids = (typeof configured === 'string' ? [configured] : [...configured]).map(lower);
    return { ids, oneField: false, provider };
  }
  return {
    ids: provider === undefined ? [] : [...PROVIDER_AUTHSERV_IDS[provider]],
    oneField: true,
    provider,
  };
}

const lower = (text: string) => text.toLowerCase();

/**
 * Whether an authserv-id (undefined: the field has none) is one of `trusted`. An entry `*.example.com`
 * stands for every name below example.com (not example.com itself); other entries match exactly,
 * ignoring letter case.
 */
export function authservIdTrusted(id: string | undefined, trusted: readonly string[]): boolean {
  const name = (id ?? NO_AUTHSERV_ID).toLowerCase();
  return trusted.some((entry) => {
    const wanted = entry.toLowerCase();
    if (wanted.startsWith('*.')) return name.length > wanted.length - 1 && name.endsWith(wanted.slice(1));
    return name === wanted;
  });
}
