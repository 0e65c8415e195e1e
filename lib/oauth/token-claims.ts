/**
 * What a person needs to see when a server refuses a fresh token: its audience, scopes or roles, tenant
 * and expiry, decoded from a JWT payload WITHOUT verifying it (we are not the audience; the server is).
 * Never the token itself. Google's access tokens are opaque: that is said instead.
 *
 * The payload is whatever the endpoint sent, and it is decoded after a rotated refresh token was stored:
 * nothing in it may throw. An `exp` that is not a number Date can hold is an unknown expiry; strings lose
 * their control and bidirectional-override characters (they reach terminals and log lines) and are cut.
 */

/** Longest claim value kept. */
const MAX_CLAIM_LENGTH = 120;
/** Latest expiry a Date can hold, in seconds (ECMA-262 §21.4.1.22: ±8.64e15 ms). */
const MAX_EXP_SECONDS = 8.64e12;
/** C0, DEL, C1, and the bidirectional overrides and isolates that reorder what a terminal shows. */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export interface TokenClaims {
  readonly audience?: string;
  readonly scopes?: string;
  readonly roles?: string;
  readonly tenant?: string;
  readonly subject?: string;
  readonly expiresAt?: string;
}

/** undefined for an opaque (non-JWT) token. */
export function decodeTokenClaims(token: string): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const claims = payload as Record<string, unknown>;
  const text = (value: unknown): string | undefined =>
    typeof value === 'string'
      ? cleaned(value)
      : Array.isArray(value)
        ? cleaned(value.filter((v) => typeof v === 'string').join(' '))
        : undefined;
  const exp = expiryOf(claims.exp);
  return pruned({
    audience: text(claims.aud),
    scopes: text(claims.scp ?? claims.scope),
    roles: text(claims.roles),
    tenant: text(claims.tid),
    subject: text(claims.upn ?? claims.email ?? claims.preferred_username ?? claims.sub),
    expiresAt: exp,
  });
}

/** One line for logs and error messages, e.g. `aud=https://outlook.office365.com roles=POP.AccessAsApp tid=…`. */
export function describeToken(token: string): string {
  const claims = decodeTokenClaims(token);
  if (claims === undefined)
    return 'the token is opaque (not a JWT), so its audience and scopes cannot be shown';
  const parts = [
    ['aud', claims.audience],
    ['scp', claims.scopes],
    ['roles', claims.roles],
    ['tid', claims.tenant],
    ['sub', claims.subject],
    ['exp', claims.expiresAt],
  ].filter((pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== '');
  const shown = parts.map(([key, value]) => `${key}=${value}`).join(' ');
  return `token claims: ${shown || 'none of aud, scp, roles, tid'}`;
}

/** An ISO time for a NumericDate (RFC 7519 §2) a Date can hold; anything else is an unknown expiry. */
function expiryOf(exp: unknown): string | undefined {
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp < 0 || exp > MAX_EXP_SECONDS) return undefined;
  return new Date(exp * 1000).toISOString();
}

function cleaned(value: string): string {
  const clean = value.replace(UNSAFE_CHARACTERS, '');
  return clean.length > MAX_CLAIM_LENGTH ? `${clean.slice(0, MAX_CLAIM_LENGTH)}…` : clean;
}

function pruned(claims: Record<string, string | undefined>): TokenClaims {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}
