/**
 * Access tokens for OAuth2 mailboxes, cached for the life of the process (a warm Lambda container, one CLI
 * run over many mailboxes) and renewed when they would expire before the run's end, so a session never
 * starts with a token about to lapse. One client-credentials token serves every mailbox of the same app,
 * endpoint and scope. Concurrent requests for the same token share one call.
 *
 * Refresh tokens: the credential document is read afresh whenever a token must be requested (another
 * container may have rotated it), and a rotated refresh token is written back to where it came from
 * BEFORE the new access token is handed out: if the write fails, the run fails and the token is not used,
 * so a crash can never leave the stored document holding a spent refresh token while the live one is lost.
 */
import type { OAuth2SecretRef } from '../ports.ts';
import { type OAuth2Credential, parseCredential, withRefreshToken } from './settings.ts';
import { describeToken } from './token-claims.ts';
import { type IssuedToken, requestToken } from './token-request.ts';

/** Reads and writes credential documents: Secrets Manager, or a local file (lib/adapters/credentials.ts). */
export interface OAuth2SecretStore {
  read(location: OAuth2SecretRef['secret']): Promise<string>;
  write(location: OAuth2SecretRef['secret'], text: string): Promise<void>;
}

/** A token is renewed this long before it expires: clock skew, and the time a login takes. */
export const RENEW_BEFORE_EXPIRY_MS = 2 * 60 * 1000;

export interface AccessToken {
  readonly accessToken: string;
  readonly expiresAtMs: number;
  /** Decoded claims, for messages; never the token. */
  readonly description: string;
}

export interface OAuth2TokensOptions {
  readonly store: OAuth2SecretStore;
  /** Epoch ms (default Date.now). */
  readonly now?: () => number;
  /** Called after a rotated refresh token was stored (for logs; no token in it). */
  readonly onRotated?: (where: string) => void;
  /** Token requests per grant issue (tests count them). */
  readonly requestToken?: typeof requestToken;
}

export function describeLocation(location: OAuth2SecretRef['secret']): string {
  return 'secretId' in location ? `secret "${location.secretId}"` : `secret file ${location.file}`;
}

export class OAuth2Tokens {
  readonly #store: OAuth2SecretStore;
  readonly #now: () => number;
  readonly #onRotated: ((where: string) => void) | undefined;
  readonly #request: typeof requestToken;
  /** Location key → the cache key of the token it yields (client credentials share by app). */
  readonly #keyOf = new Map<string, string>();
  readonly #tokens = new Map<string, Promise<AccessToken>>();

  constructor(options: OAuth2TokensOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#onRotated = options.onRotated;
    this.#request = options.requestToken ?? requestToken;
  }

  /** A token valid until at least `validUntilMs` (epoch), from the cache when one is. */
  async token(ref: OAuth2SecretRef, validUntilMs: number, signal?: AbortSignal): Promise<AccessToken> {
    const lastsLongEnough = (token: AccessToken | undefined): token is AccessToken =>
      token !== undefined &&
      token.expiresAtMs - RENEW_BEFORE_EXPIRY_MS >= Math.max(validUntilMs, this.#now());
    const location = locationKey(ref);
    const known = this.#keyOf.get(location);
    const cached = known === undefined ? undefined : await this.#settled(known);
    if (lastsLongEnough(cached)) return cached;

    // Read afresh: another process may have rotated the refresh token since.
    const text = await this.#store.read(ref.secret);
    const where = describeLocation(ref.secret);
    const credential = parseCredential(text, ref, where);
    const key = cacheKey(credential, location);
    this.#keyOf.set(location, key);
    // Another mailbox of the same app may be renewing it already (client credentials share one token).
    const pending = this.#tokens.get(key);
    if (pending !== undefined) {
      const shared = await pending.catch(() => undefined);
      if (lastsLongEnough(shared)) return shared;
      // Renewed by someone else while we waited: look again. Otherwise renew below, with no await between
      // the check and the set, so concurrent callers share one request.
      if (this.#tokens.get(key) !== pending) return this.token(ref, validUntilMs, signal);
    }
    const issued = this.#issue(credential, ref, text, where, signal);
    this.#tokens.set(key, issued);
    issued.catch(() => {
      if (this.#tokens.get(key) === issued) this.#tokens.delete(key);
    });
    return issued;
  }

  /** The cached or pending token under `key`, or undefined when there is none or its request failed. */
  async #settled(key: string): Promise<AccessToken | undefined> {
    return this.#tokens.get(key)?.catch(() => undefined);
  }

  /** Drops the cached token of a mailbox whose server refused it: the next run asks for a new one. */
  forget(ref: OAuth2SecretRef): void {
    const key = this.#keyOf.get(locationKey(ref));
    if (key !== undefined) this.#tokens.delete(key);
  }

  async #issue(
    credential: OAuth2Credential,
    ref: OAuth2SecretRef,
    text: string,
    where: string,
    signal: AbortSignal | undefined,
  ): Promise<AccessToken> {
    const issued: IssuedToken = await this.#request(credential, this.#now(), signal);
    if (issued.refreshToken !== undefined && issued.refreshToken !== credential.refreshToken) {
      try {
        await this.#store.write(ref.secret, withRefreshToken(text, issued.refreshToken));
      } catch (error) {
        throw new RefreshTokenNotSavedError(
          `the token endpoint rotated the refresh token, but it could not be written back to ${where}; ` +
            'the new access token was not used. Check write access (Secrets Manager: secretsmanager:PutSecretValue)',
          { cause: error },
        );
      }
      this.#onRotated?.(where);
    }
    return {
      accessToken: issued.accessToken,
      expiresAtMs: issued.expiresAtMs,
      description: describeToken(issued.accessToken),
    };
  }
}

/** A rotated refresh token could not be stored: a person must fix write access (failed, `credentials`). */
export class RefreshTokenNotSavedError extends Error {
  override readonly name = 'CredentialsError';
}

function locationKey(ref: OAuth2SecretRef): string {
  return 'secretId' in ref.secret ? `secret:${ref.secret.secretId}` : `file:${ref.secret.file}`;
}

function cacheKey(credential: OAuth2Credential, location: string): string {
  // Client credentials: one token per app, endpoint and scope, whichever mailbox asked.
  return credential.grant === 'client_credentials'
    ? JSON.stringify(['client_credentials', credential.tokenUrl, credential.clientId, credential.scope])
    : JSON.stringify(['refresh_token', location]);
}
