/**
 * Extended response codes (RFC 2449 §8, RFC 3206): `-ERR [SYS/TEMP] try later`. A code sits in brackets
 * right after the status indicator and is hierarchical: `SYS/TEMP` is a kind of `SYS`.
 *
 *   resp-code  = "[" resp-level *("/" resp-level) "]"
 *   resp-level = 1*rchar
 *   rchar      = %x21-2E / %x30-5C / %x5E-7F   ; printable, no '/' and no ']'
 *
 * Unknown codes are kept (servers invent their own); text that does not match the grammar is plain text.
 */

export interface ResponseCode {
  /** The code as sent, upper-cased, without brackets: 'SYS/TEMP'. */
  readonly raw: string;
  /** Its levels, upper-cased: ['SYS', 'TEMP']. */
  readonly parts: readonly string[];
  /** A number some servers put after the code, `[LOGIN-DELAY 900]`: seconds to wait (outside RFC 2449). */
  readonly seconds?: number;
}

/** The mailbox is locked by another session (RFC 2449 §8.1.1): retry later. */
export const RESP_CODE_IN_USE = 'IN-USE';
/** Logged in too soon after the last login (RFC 2449 §8.1.2): retry after the LOGIN-DELAY interval. */
export const RESP_CODE_LOGIN_DELAY = 'LOGIN-DELAY';
/** Transient server failure (RFC 3206 §4): retrying later may help. */
export const RESP_CODE_SYS_TEMP = 'SYS/TEMP';
/** Permanent server failure (RFC 3206 §4): retrying will not help without someone fixing the server. */
export const RESP_CODE_SYS_PERM = 'SYS/PERM';
/** The credentials were refused (RFC 3206 §5), as opposed to a system problem during login. */
export const RESP_CODE_AUTH = 'AUTH';
/** The server requires UTF-8 mode for this mailbox (RFC 6856 §2). */
export const RESP_CODE_UTF8 = 'UTF8';

// One resp-level: rchar = %x21-2E / %x30-5C / %x5E-7F (RFC 2449 §8).
const LEVEL = '[\\x21-\\x2E\\x30-\\x5C\\x5E-\\x7F]+';
// RFC 2449 has no argument in a code; servers that say how long to wait write `[LOGIN-DELAY 900]`.
const CODE_AT_START = new RegExp(`^\\[(${LEVEL}(?:/${LEVEL})*)(?: (\\d{1,9}))?\\]`);

/**
 * Splits a leading `[CODE]` off status text. Only a bracket at the very start counts (RFC 2449 §8); a
 * `[` with no matching `]`, or brackets around something outside the grammar, leave the text unchanged.
 */
export function parseResponseCode(text: string): { code?: ResponseCode; text: string } {
  const match = CODE_AT_START.exec(text);
  if (match === null) return { text };
  const raw = match[1]!.toUpperCase();
  const rest = text.slice(match[0].length).replace(/^ +/, '');
  const seconds = match[2] === undefined ? {} : { seconds: Number(match[2]) };
  return { code: { raw, parts: raw.split('/'), ...seconds }, text: rest };
}

/**
 * Hierarchy-aware match: `responseCodeIs(SYS/TEMP, 'SYS')` and `(SYS/TEMP, 'SYS/TEMP')` are true,
 * `(SYS, 'SYS/TEMP')` and `(SYS/TEMP, 'SYS/PERM')` are false. Case-insensitive.
 */
export function responseCodeIs(code: ResponseCode | undefined, wanted: string | ResponseCode): boolean {
  if (code === undefined) return false;
  const wantedParts = typeof wanted === 'string' ? wanted.toUpperCase().split('/') : wanted.parts;
  if (wantedParts.length === 0 || wantedParts.length > code.parts.length) return false;
  return wantedParts.every((part, index) => part === code.parts[index]);
}

/**
 * Server text that stops a session for a quota or a rate, not for a fault: Gmail's "Download exceed",
 * "too many connections/logins/commands", "rate limit", "quota exceeded", "throttled". Such a stop is
 * retried later (reason `rate-limited`), never reported as a failure of the mailbox or its credentials.
 */
const RATE_OR_QUOTA_TEXT =
  /download exceed|too many|rate[ -]?limit|quota|bandwidth|throttl|exceeded? (?:the )?(?:limit|maximum)/i;

export function isRateOrQuotaText(text: string): boolean {
  return RATE_OR_QUOTA_TEXT.test(text);
}
