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
 * The write is conditional on the document still being the version read (lib/oauth/write-back.ts): a
 * newer one stored meanwhile is never overwritten, and its token is used instead.
 *
 * Every error leaving here is scrubbed (lib/oauth/scrubbed-error.ts): no response body, token or secret.
 */
import type { OAuth2SecretRef } from '../ports.ts';
import { TokenRequestError } from './errors.ts';
import { scrubbedError } from './scrubbed-error.ts';
import { type OAuth2Credential, parseCredential } from './settings.ts';
import { describeToken } from './token-claims.ts';
import { type IssuedToken, requestToken, rotatedRefreshTokenOf } from './token-request.ts';
import {
  describeLocation,
  type OAuth2SecretStore,
  RefreshTokenNotSavedError,
  type StoredDocument,
  saveRotatedRefreshToken,
} from './write-back.ts';

/**
 * How many times one token() may find its write-back overtaken by a newer stored token and start again
 * from that one; more means writers keep racing, and the run fails rather than spend tokens in a loop.
 */
const MAX_SUPERSEDED_RETRIES = 2;

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
    try {
      return await this.#token(ref, validUntilMs, signal);
    } catch (error) {
      throw scrubbedError(error, []);
    }
  }

  async #token(ref: OAuth2SecretRef, validUntilMs: number, signal?: AbortSignal): Promise<AccessToken> {
    const lastsLongEnough = (token: AccessToken | undefined): token is AccessToken =>
      token !== undefined &&
      token.expiresAtMs - RENEW_BEFORE_EXPIRY_MS >= Math.max(validUntilMs, this.#now());
    const location = locationKey(ref);
    const known = this.#keyOf.get(location);
    const cached = known === undefined ? undefined : await this.#settled(known);
    if (lastsLongEnough(cached)) return cached;

    // Read afresh: another process may have rotated the refresh token since.
    const stored = await this.#store.read(ref.secret);
    const where = describeLocation(ref.secret);
    const credential = parseCredential(stored.text, ref, where);
    const key = cacheKey(credential, location);
    this.#keyOf.set(location, key);
    // Another mailbox of the same app may be renewing it already (client credentials share one token).
    const pending = this.#tokens.get(key);
    if (pending !== undefined) {
      const shared = await pending.catch(() => undefined);
      if (lastsLongEnough(shared)) return shared;
      // Renewed by someone else while we waited: look again. Otherwise renew below, with no await between
      // the check and the set, so concurrent callers share one request.
      if (this.#tokens.get(key) !== pending) return this.#token(ref, validUntilMs, signal);
    }
    const issued = this.#issue(credential, ref, stored, where, signal, 0);
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
    stored: StoredDocument,
    where: string,
    signal: AbortSignal | undefined,
    superseded: number,
  ): Promise<AccessToken> {
    const spent = credential.refreshToken;
    let issued: IssuedToken;
    try {
      issued = await this.#request(credential, this.#now(), signal);
    } catch (error) {
      const reported = await this.#keepRescuedToken(error, credential, ref, stored, where);
      const rotated = rotatedRefreshTokenOf(error);
      throw scrubbedError(reported, secretsOf(credential, rotated?.usable ? rotated.token : undefined));
    }
    if (issued.refreshToken !== undefined && issued.refreshToken !== spent) {
      const secrets = secretsOf(credential, issued.refreshToken, issued.accessToken);
      let saved: Awaited<ReturnType<typeof saveRotatedRefreshToken>>;
      try {
        saved = await saveRotatedRefreshToken(this.#store, ref.secret, stored, spent, issued.refreshToken);
      } catch (error) {
        throw scrubbedError(error, secrets);
      }
      if (saved.outcome === 'superseded') {
        // Another run stored a newer refresh token meanwhile: it is the live one. Ours is dropped unused.
        if (superseded >= MAX_SUPERSEDED_RETRIES) throw supersededTooOften(where);
        const newer = parseCredential(saved.current.text, ref, where);
        return this.#issue(newer, ref, saved.current, where, signal, superseded + 1);
      }
      this.#onRotated?.(where);
    }
    return {
      accessToken: issued.accessToken,
      expiresAtMs: issued.expiresAtMs,
      description: safeDescription(issued.accessToken),
    };
  }

  /**
   * A refused answer may still have rotated the refresh token: the one we sent is spent then. The new one
   * is written back, and the error says whether it was; it never carries the token.
   */
  async #keepRescuedToken(
    error: unknown,
    credential: OAuth2Credential,
    ref: OAuth2SecretRef,
    stored: StoredDocument,
    where: string,
  ): Promise<unknown> {
    const rotated = rotatedRefreshTokenOf(error);
    if (rotated === undefined || !(error instanceof Error)) return error;
    if (!rotated.usable) {
      const note =
        'its refresh_token field is no usable token, so the stored refresh token may now be spent; ' +
        'if the next run ends auth-revoked, run mailbox-poller oauth login again';
      return new TokenRequestError(`${error.message}; ${note}`, { cause: error.cause });
    }
    if (rotated.token === credential.refreshToken) return error;
    let note: string;
    try {
      const saved = await saveRotatedRefreshToken(
        this.#store,
        ref.secret,
        stored,
        credential.refreshToken,
        rotated.token,
      );
      if (saved.outcome === 'written') this.#onRotated?.(where);
      note =
        saved.outcome === 'written'
          ? `the rotated refresh token that came with it was written back to ${where}`
          : `another run stored a newer refresh token in ${where} meanwhile; it was kept`;
    } catch (saveError) {
      const why = saveError instanceof Error ? saveError.message : 'unknown reason';
      note =
        `it came with a rotated refresh token that could NOT be written back to ${where} (${why}): the ` +
        'stored refresh token may now be spent; if the next run ends auth-revoked, run mailbox-poller oauth login again';
    }
    return new TokenRequestError(`${error.message}; ${note}`, { cause: error.cause });
  }
}

/** Too many writers in a row stored a newer token while this run rotated: fail rather than loop. */
function supersededTooOften(where: string): Error {
  return new RefreshTokenNotSavedError(
    `other runs kept storing newer refresh tokens in ${where} while this one renewed its token; the ` +
      'access token was not used. Two schedules may be polling this mailbox at once',
  );
}

/** The claims for messages; a token whose claims cannot be shown is still a token. */
function safeDescription(accessToken: string): string {
  try {
    return describeToken(accessToken);
  } catch {
    return 'the token claims cannot be shown';
  }
}

/** Every secret a request knows of, to be removed from messages. */
function secretsOf(credential: OAuth2Credential, ...more: (string | undefined)[]): (string | undefined)[] {
  return [credential.refreshToken, credential.clientSecret, credential.certificate?.privateKeyPem, ...more];
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
