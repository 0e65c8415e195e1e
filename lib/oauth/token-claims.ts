/**
 * What a person needs to see when a server refuses a fresh token: its audience, scopes or roles, tenant
 * and expiry, decoded from a JWT payload WITHOUT verifying it (we are not the audience; the server is).
 * Never the token itself. Google's access tokens are opaque: that is said instead.
 */

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
      ? value
      : Array.isArray(value)
        ? value.filter((v) => typeof v === 'string').join(' ')
        : undefined;
  const exp = typeof claims.exp === 'number' ? new Date(claims.exp * 1000).toISOString() : undefined;
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
  const shown = parts.map(([key, value]) => `${key}=${value.slice(0, 120)}`).join(' ');
  return `token claims: ${shown || 'none of aud, scp, roles, tid'}`;
}

function pruned(claims: Record<string, string | undefined>): TokenClaims {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}
