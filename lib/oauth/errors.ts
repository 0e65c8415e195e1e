/**
 * Token endpoint failures, named for who must act (docs/outcomes.md). The classes' `name`s are what
 * lib/pipeline/classify-failure.ts maps to a reason, so a bundle that shortens class names changes nothing.
 * The endpoint's `error_description` is quoted, truncated; no token or secret ever appears.
 */

/** Longest piece of endpoint text quoted in a message. */
const MAX_QUOTED = 200;

/**
 * RFC 6749 §5.2 errors that mean the grant itself is gone or was never allowed: a person must act
 * (re-consent, new secret, admin consent). Microsoft's AADSTS65001 (no consent) arrives as invalid_grant;
 * OpenID's consent_required and interaction_required say the same.
 */
export const REVOKED_ERRORS: ReadonlySet<string> = new Set([
  'invalid_grant',
  'invalid_client',
  'unauthorized_client',
  'consent_required',
  'interaction_required',
]);

/** The grant was refused for good: outcome `auth-revoked`. Retrying does not help; a person must act. */
export class OAuth2RevokedError extends Error {
  override readonly name = 'OAuth2RevokedError';
  readonly error: string;

  constructor(error: string, description: string | undefined, endpoint: string) {
    super(
      `token endpoint ${endpoint} refused the grant: ${quote(error)}` +
        `${description ? ` (${quote(description)})` : ''}; ${hintFor(error)}`,
    );
    this.error = error;
  }
}

/** The token endpoint is down, throttling or slow (5xx, 429, timeout, network): outcome `retry-later`. */
export class TokenEndpointUnavailableError extends Error {
  override readonly name = 'TokenEndpointUnavailableError';
}

/** Any other refusal (invalid_scope, invalid_request, …): a configuration problem of this mailbox. */
export class TokenRequestError extends Error {
  override readonly name = 'CredentialsError';
}

function hintFor(error: string): string {
  switch (error) {
    case 'invalid_grant':
      return 'the refresh token was revoked or expired, or consent is missing: run mailbox-poller oauth login again (Google: a consent screen in "Testing" expires refresh tokens after 7 days)';
    case 'invalid_client':
      return 'the client id, client secret or certificate is wrong or expired: put a valid one into the secret';
    case 'unauthorized_client':
      return 'this client may not use this grant: check the app registration (Microsoft: allow public client flows for delegated logins)';
    default:
      return 'consent is missing: an administrator must grant consent to the application';
  }
}

export function quote(text: string): string {
  const clean = text.replace(/[\x00-\x1f\x7f]/g, ' ');
  return clean.length > MAX_QUOTED ? `${clean.slice(0, MAX_QUOTED)}…` : clean;
}
