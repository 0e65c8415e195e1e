/**
 * One token request (client_credentials or refresh_token grant, RFC 6749 §4.4 / §6) through oauth4webapi,
 * which builds the request and checks the response exactly as the RFC says. Here: which failures mean what
 * (lib/oauth/errors.ts), and the time limits.
 *
 * A 200 answer oauth4webapi rejects (`scope` as an array, `token_type` missing or unknown) may still hold
 * a rotated refresh token: the endpoint has already retired the one we sent, so dropping the new one would
 * leave the stored document spent. Its refresh token is read from a copy of the body and kept beside the
 * error (`rotatedRefreshTokenOf`), out of every enumerable property, so the caller can write it back and
 * no log ever prints it.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import {
  OAuth2RevokedError,
  quote,
  REVOKED_ERRORS,
  TokenEndpointUnavailableError,
  TokenRequestError,
} from './errors.ts';
import { redacted } from './scrubbed-error.ts';
import { isAcceptableTokenUrl, type OAuth2Credential } from './settings.ts';

/** A token endpoint that has not answered in this long is treated as down (retry-later). */
export const TOKEN_REQUEST_TIMEOUT_MS = 15_000;

export interface IssuedToken {
  readonly accessToken: string;
  /** Epoch ms; from `expires_in`, or one hour when the endpoint gives none (both providers issue 1 h). */
  readonly expiresAtMs: number;
  /** A new refresh token, when the endpoint rotated it. */
  readonly refreshToken: string | undefined;
}

const DEFAULT_LIFETIME_S = 3600;

export function authorizationServer(
  tokenUrl: string,
  extra: Partial<oauth.AuthorizationServer> = {},
): oauth.AuthorizationServer {
  return { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl, ...extra };
}

/**
 * Plain http only to a loopback address (a local test or proxy): a token endpoint across a network must
 * be https, as RFC 6749 §3.2 requires.
 */
export function httpOptions(
  url: string,
  signal?: AbortSignal,
): oauth.HttpRequestOptions<'POST', URLSearchParams> {
  const insecure = new URL(url).protocol === 'http:' && isAcceptableTokenUrl(url);
  const timeout = AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS);
  return {
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
    ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}

export function clientAuthentication(credential: Pick<OAuth2Credential, 'clientSecret'>): oauth.ClientAuth {
  return credential.clientSecret === undefined
    ? oauth.None()
    : oauth.ClientSecretPost(credential.clientSecret);
}

/**
 * A certificate credential (RFC 7523 private_key_jwt), as Microsoft Entra takes it: an assertion signed with
 * the certificate's key, naming the certificate by thumbprint (x5t, x5t#S256) and addressed (aud) to the
 * token endpoint itself.
 */
export async function certificateAuthentication(
  certificate: NonNullable<OAuth2Credential['certificate']>,
  tokenUrl: string,
): Promise<oauth.ClientAuth> {
  let der: Buffer;
  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    der = new X509Certificate(certificate.certificatePem).raw;
    keyObject = createPrivateKey(certificate.privateKeyPem);
  } catch {
    throw new TokenRequestError('the "certificate" or "privateKey" of the credential is not valid PEM');
  }
  const algorithm =
    keyObject.asymmetricKeyType === 'ec'
      ? { name: 'ECDSA', namedCurve: 'P-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const key = await crypto.subtle.importKey(
    'pkcs8',
    keyObject.export({ type: 'pkcs8', format: 'der' }),
    algorithm,
    false,
    ['sign'],
  );
  const thumbprint = (hash: string) => createHash(hash).update(der).digest('base64url');
  return oauth.PrivateKeyJwt(key, {
    [oauth.modifyAssertion]: (header, payload) => {
      header['x5t'] = thumbprint('sha1');
      header['x5t#S256'] = thumbprint('sha256');
      payload.aud = tokenUrl;
    },
  });
}

export async function requestToken(
  credential: OAuth2Credential,
  nowMs: number,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const as = authorizationServer(credential.tokenUrl);
  const client: oauth.Client = { client_id: credential.clientId };
  const auth =
    credential.certificate === undefined
      ? clientAuthentication(credential)
      : await certificateAuthentication(credential.certificate, credential.tokenUrl);
  const options = httpOptions(credential.tokenUrl, signal);
  try {
    return await grantCall(credential, as, client, auth, options, nowMs);
  } catch (error) {
    // fetch rejects with the signal's own reason (the run's DeadlineExceededError), not an AbortError.
    if (!signal?.aborted || error instanceof TokenEndpointUnavailableError) throw error;
    throw new TokenEndpointUnavailableError(
      `token request to ${credential.tokenUrl} abandoned: the run's deadline passed`,
      { cause: error },
    );
  }
}

function grantCall(
  credential: OAuth2Credential,
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  auth: oauth.ClientAuth,
  options: ReturnType<typeof httpOptions>,
  nowMs: number,
): Promise<IssuedToken> {
  return tokenCall(credential.tokenUrl, nowMs, async () => {
    if (credential.grant === 'client_credentials') {
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        { scope: credential.scope },
        options,
      );
      return oauth.processClientCredentialsResponse(
        as,
        client,
        unavailableIfBusy(response, credential.tokenUrl),
      );
    }
    const response = await oauth.refreshTokenGrantRequest(as, client, auth, credential.refreshToken ?? '', {
      ...options,
      additionalParameters: { scope: credential.scope },
    });
    // A copy to read a rotated refresh token from, should the library refuse the rest of a 200 body.
    const copy = response.status === 200 ? response.clone() : undefined;
    try {
      const result = await oauth.processRefreshTokenResponse(
        as,
        client,
        unavailableIfBusy(response, credential.tokenUrl),
      );
      await copy?.body?.cancel().catch(() => undefined);
      return result;
    } catch (error) {
      const rescued = await refreshTokenIn(copy);
      if (rescued !== undefined && error instanceof Error) rotatedRefreshTokens.set(error, rescued);
      throw error;
    }
  });
}

/**
 * What a refused 200 answer said of the refresh token: a new one (to store), or a `refresh_token` field
 * that is no usable token (the endpoint may have retired ours without giving a successor we can keep).
 */
export type RotatedRefreshToken =
  | { readonly usable: true; readonly token: string }
  | { readonly usable: false };

/** Errors of a refused 200 answer → what it carried as refresh token. Invisible to loggers. */
const rotatedRefreshTokens = new WeakMap<Error, RotatedRefreshToken>();

/** The refresh token a token request's failure came with (a 200 body refused for another field). */
export function rotatedRefreshTokenOf(error: unknown): RotatedRefreshToken | undefined {
  return error instanceof Error ? rotatedRefreshTokens.get(error) : undefined;
}

/** `refresh_token` of a JSON object body; undefined when the body has none (or is not JSON at all). */
async function refreshTokenIn(copy: Response | undefined): Promise<RotatedRefreshToken | undefined> {
  let body: unknown;
  try {
    body = await copy?.json();
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || !('refresh_token' in body)) return undefined;
  const token = body.refresh_token;
  return typeof token === 'string' && token !== '' ? { usable: true, token } : { usable: false };
}

/** Runs a token request and turns its failures into the errors of lib/oauth/errors.ts. */
export async function tokenCall(
  endpoint: string,
  nowMs: number,
  call: () => Promise<oauth.TokenEndpointResponse>,
): Promise<IssuedToken> {
  let result: oauth.TokenEndpointResponse;
  try {
    result = await call();
  } catch (error) {
    const classified = classifyTokenError(error, endpoint);
    const rescued = rotatedRefreshTokenOf(error);
    if (rescued !== undefined) rotatedRefreshTokens.set(classified, rescued);
    throw classified;
  }
  return {
    accessToken: result.access_token,
    expiresAtMs: nowMs + (result.expires_in ?? DEFAULT_LIFETIME_S) * 1000,
    refreshToken: result.refresh_token,
  };
}

/** 5xx and 429 are the endpoint's own trouble, whatever the body says. */
export function unavailableIfBusy(response: Response, endpoint: string): Response {
  if (response.status >= 500 || response.status === 429) {
    const retryAfter = response.headers.get('retry-after');
    throw new TokenEndpointUnavailableError(
      `token endpoint ${endpoint} answered HTTP ${response.status}${retryAfter ? ` (Retry-After: ${quote(retryAfter)})` : ''}`,
    );
  }
  return response;
}

export function classifyTokenError(error: unknown, endpoint: string): Error {
  if (error instanceof TokenEndpointUnavailableError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    if (REVOKED_ERRORS.has(error.error))
      return new OAuth2RevokedError(error.error, error.error_description, endpoint);
    return new TokenRequestError(
      `token endpoint ${endpoint} refused the request: ${quote(error.error)}` +
        `${error.error_description ? ` (${quote(error.error_description)})` : ''}`,
      { cause: error },
    );
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'AbortError' || name === 'TimeoutError' || error instanceof TypeError) {
    // fetch rejects with TypeError on network failures; the signals abort on timeout or deadline.
    return new TokenEndpointUnavailableError(
      `token endpoint ${endpoint} could not be reached or did not answer`,
      {
        cause: error,
      },
    );
  }
  // The library's own messages name the field it refused ('"response" body "scope" property must be a
  // string'); they quote no value. Redacted all the same: the cause may come from anywhere.
  const why = error instanceof Error && error.name !== 'SyntaxError' ? `: ${redacted(error.message)}` : '';
  return new TokenRequestError(
    `token endpoint ${endpoint} gave an answer that is not a valid token response${why}`,
    { cause: error },
  );
}
