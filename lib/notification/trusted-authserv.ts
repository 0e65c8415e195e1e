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

/**
 * Provider defaults by POP3 host (lower case). Each is what that provider stamps on inbound mail:
 * - Gmail and Google Workspace: `Authentication-Results: mx.google.com; dkim=...; spf=...; dmarc=...`.
 * - Microsoft 365 and Outlook.com (both on Exchange Online Protection): the id-less form above.
 * - Fastmail: `Authentication-Results: mx<N>.messagingengine.com; ...` (the number is the MX host).
 */
const PROVIDER_AUTHSERV_IDS: ReadonlyMap<string, readonly string[]> = new Map([
  ['pop.gmail.com', ['mx.google.com']],
  ['outlook.office365.com', [NO_AUTHSERV_ID]],
  ['outlook.office.com', [NO_AUTHSERV_ID]],
  ['pop.office365.com', [NO_AUTHSERV_ID]],
  ['pop-mail.outlook.com', [NO_AUTHSERV_ID]],
  ['pop.fastmail.com', ['mx.messagingengine.com', '*.messagingengine.com']],
]);

/** Whose Authentication-Results a mailbox reads. */
export interface TrustedAuthserv {
  readonly ids: readonly string[];
  /**
   * Read only the topmost trusted field, not the trusted fields directly below it. True for the provider
   * defaults: Gmail, Microsoft 365 and Fastmail write exactly one field per message, so a second field
   * right below theirs can only be one the sender put at the top of its message (verdicts.ts, rule 3).
   */
  readonly oneField: boolean;
}

/** The authserv-ids a mailbox trusts: its own setting, else its provider's default, else none. */
export function trustedAuthservIds(
  host: string,
  configured: string | readonly string[] | undefined,
): TrustedAuthserv {
  if (configured !== undefined) {
    return {
      ids: (typeof configured === 'string' ? [configured] : [...configured]).map(lower),
      oneField: false,
    };
  }
  return {
    ids: [...(PROVIDER_AUTHSERV_IDS.get(host.toLowerCase().replace(/\.$/, '')) ?? [])],
    oneField: true,
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
