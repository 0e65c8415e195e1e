/**
 * Resolves a mailbox's secret reference (lib/config) into credentials: a literal from a local config, an
 * environment variable, or a secret read through a SecretSource (Secrets Manager in AWS). Secrets are
 * cached per secret id for the life of the process, which in Lambda is the container: warm invocations
 * skip the lookup, and the TTL bounds how long a rotated secret can go unnoticed.
 *
 * No error raised here contains a secret: they name the variable, secret id or JSON field instead.
 *
 * Which kinds of reference a provider accepts is its caller's choice (`allowed`): the CLI takes all three;
 * the deployed poll function takes Secrets Manager references only, so that even a config that slipped
 * past validation can never make it read its own environment (where its AWS credentials are) or send a
 * literal written somewhere it should not be.
 */
import type { MailboxConfig } from '../config/types.ts';
import { type MonotonicClock, systemMonotonicClock } from '../deadline.ts';
import { OAuth2Tokens } from '../oauth/token-provider.ts';
import { describeLocation, type OAuth2SecretStore } from '../oauth/write-back.ts';
import type { Credentials, CredentialsProvider, OAuth2SecretRef, SecretRef } from '../ports.ts';
import { readSecretFileVersioned, writeSecretFileIfUnchanged } from './secret-file.ts';

/** Where secrets referenced by `{ "secretId": ... }` are read from. */
export interface SecretSource {
  getSecretString(secretId: string): Promise<string>;
  /**
   * The write-back port: stores a new version of a secret (a rotated OAuth2 refresh token). Sources that
   * cannot write leave it out, and a rotation there fails the run before the new token is used.
   */
  putSecretString?(secretId: string, text: string): Promise<void>;
  /** The value with its version id, for a conditional write-back. */
  getSecretVersion?(secretId: string): Promise<{ text: string; versionId: string | undefined }>;
  /** Stores a new version only if `versionId` is still the current one; `conflict` otherwise. */
  putSecretStringIfCurrent?(
    secretId: string,
    text: string,
    versionId: string,
  ): Promise<'written' | 'conflict'>;
}

export type CredentialKind = MailboxConfig['credentialKind'];

/** The kinds of secret reference a config may hold; `file` only as the home of an OAuth2 credential. */
export type SecretRefKind = 'literal' | 'env' | 'secretId' | 'file';

export const ALL_SECRET_REF_KINDS: readonly SecretRefKind[] = ['literal', 'env', 'secretId', 'file'];

export function secretRefKindOf(ref: SecretRef): SecretRefKind {
  if ('literal' in ref) return 'literal';
  if ('env' in ref) return 'env';
  if ('oauth2' in ref) return 'secretId' in ref.oauth2.secret ? 'secretId' : 'file';
  return 'secretId';
}

export const DEFAULT_SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

/** The JSON field read from a secret stored as a JSON object, when the reference names none. */
export const DEFAULT_SECRET_FIELD: Readonly<Record<CredentialKind, string>> = {
  password: 'password',
  oauth2: 'accessToken',
};

export interface ConfigCredentialsProviderOptions {
  /** Needed only for `{ "secretId": ... }` references. */
  readonly secretSource?: SecretSource;
  /** Where `{ "env": NAME }` references are looked up (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cacheTtlMs?: number;
  readonly clock?: MonotonicClock;
  /** The kinds of reference this provider resolves; any other is refused unread (default: all). */
  readonly allowed?: readonly SecretRefKind[];
  /** OAuth2 access tokens (default: a cache over this provider's secret source and local files). */
  readonly oauth2?: OAuth2Tokens;
  /**
   * Until when (epoch ms) a run needs its OAuth2 token; a cached token expiring earlier is renewed before
   * login. The edge sets it from the run's deadline. Default: now.
   */
  readonly tokenValidUntil?: () => number;
  /** Told (with the secret's name, never its value) after a rotated refresh token was written back. */
  readonly onRefreshTokenRotated?: (where: string) => void;
}

/** A secret could not be resolved; the message says which reference and why, never the value. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

interface CachedSecret {
  readonly expiresAt: number;
  readonly text: Promise<string>;
}

export class ConfigCredentialsProvider implements CredentialsProvider {
  readonly #source: SecretSource | undefined;
  readonly #env: NodeJS.ProcessEnv;
  readonly #ttlMs: number;
  readonly #clock: MonotonicClock;
  readonly #allowed: ReadonlySet<SecretRefKind>;
  readonly #cache = new Map<string, CachedSecret>();
  readonly #tokens: OAuth2Tokens;
  readonly #validUntil: () => number;

  constructor(options: ConfigCredentialsProviderOptions = {}) {
    this.#source = options.secretSource;
    this.#env = options.env ?? process.env;
    this.#ttlMs = options.cacheTtlMs ?? DEFAULT_SECRET_CACHE_TTL_MS;
    this.#clock = options.clock ?? systemMonotonicClock;
    this.#allowed = new Set(options.allowed ?? ALL_SECRET_REF_KINDS);
    this.#tokens =
      options.oauth2 ??
      new OAuth2Tokens({
        store: this.oauth2Store(),
        ...(options.onRefreshTokenRotated ? { onRotated: options.onRefreshTokenRotated } : {}),
      });
    this.#validUntil = options.tokenValidUntil ?? Date.now;
  }

  /**
   * Credential documents: read uncached (a rotation elsewhere must be seen) with their version, written
   * back on rotation only if still at that version (lib/oauth/write-back.ts).
   */
  oauth2Store(): OAuth2SecretStore {
    return {
      read: async (location) => {
        this.#refuseUnlessAllowed('secretId' in location ? 'secretId' : 'file');
        if ('file' in location) return readSecretFileVersioned(location.file);
        const source = this.#source;
        if (source === undefined)
          throw new CredentialsError(`${describeLocation(location)} cannot be read: no secret source`);
        const secretId = location.secretId;
        const read = source.getSecretVersion
          ? source.getSecretVersion(secretId).then(({ text, versionId }) => ({ text, version: versionId }))
          : source.getSecretString(secretId).then((text) => ({ text, version: undefined }));
        return read.catch((error: unknown) => {
          throw new CredentialsError(`could not read ${describeLocation(location)}: ${reasonOf(error)}`);
        });
      },
      write: async (location, text, expected) => {
        if ('file' in location) {
          const version = expected.version ?? '';
          return writeSecretFileIfUnchanged(location.file, text, { text: expected.text, version });
        }
        const source = this.#source;
        if (expected.version !== undefined && source?.putSecretStringIfCurrent !== undefined) {
          return source.putSecretStringIfCurrent(location.secretId, text, expected.version);
        }
        // A source without versions can only write unconditionally.
        if (source?.putSecretString === undefined) {
          throw new CredentialsError(`${describeLocation(location)} cannot be written here`);
        }
        await source.putSecretString(location.secretId, text);
        return 'written';
      },
    };
  }

  /** Credentials of the given kind (default password) from one secret reference. */
  async resolve(
    ref: SecretRef,
    username: string,
    kind: CredentialKind = 'password',
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<Credentials> {
    if ('oauth2' in ref) return this.#oauth2(ref.oauth2, username, options.signal);
    const secret = await this.#secretOf(ref, kind);
    return kind === 'oauth2'
      ? { kind: 'oauth2', username, accessToken: secret }
      : { kind: 'password', username, password: secret };
  }

  /** Credentials for a configured mailbox, of the kind its config declares. */
  resolveFor(
    mailbox: Pick<MailboxConfig, 'credential' | 'username' | 'credentialKind'>,
  ): Promise<Credentials> {
    return this.resolve(mailbox.credential, mailbox.username, mailbox.credentialKind);
  }

  /** Drops a cached secret, e.g. after the server refused it, so the next resolve reads it afresh. */
  forget(ref: SecretRef): void {
    if ('secretId' in ref) this.#cache.delete(ref.secretId);
    if ('oauth2' in ref) this.#tokens.forget(ref.oauth2);
  }

  async #oauth2(ref: OAuth2SecretRef, username: string, signal?: AbortSignal): Promise<Credentials> {
    this.#refuseUnlessAllowed('secretId' in ref.secret ? 'secretId' : 'file');
    const token = await this.#tokens.token(ref, this.#validUntil(), signal);
    return {
      kind: 'oauth2',
      username,
      accessToken: token.accessToken,
      tokenDescription: token.description,
    };
  }

  #refuseUnlessAllowed(refKind: SecretRefKind): void {
    if (!this.#allowed.has(refKind)) {
      // Neither the literal nor the variable's name is echoed: the reference itself may be hostile.
      throw new CredentialsError(
        `a secret reference of kind "${refKind}" is not accepted here; use one of: ${[...this.#allowed].join(', ')}`,
      );
    }
  }

  async #secretOf(ref: Exclude<SecretRef, { oauth2: unknown }>, kind: CredentialKind): Promise<string> {
    this.#refuseUnlessAllowed(secretRefKindOf(ref));
    if ('literal' in ref) return ref.literal;
    if ('env' in ref) {
      const value = this.#env[ref.env];
      if (value === undefined || value === '') {
        throw new CredentialsError(`environment variable ${ref.env} is not set or empty`);
      }
      return value;
    }
    const text = await this.#secretText(ref.secretId);
    return valueFromSecret(ref.secretId, text, ref.field, kind);
  }

  #secretText(secretId: string): Promise<string> {
    const now = this.#clock.monotonicMs();
    const cached = this.#cache.get(secretId);
    if (cached !== undefined && cached.expiresAt > now) return cached.text;
    const source = this.#source;
    if (source === undefined) {
      return Promise.reject(new CredentialsError(`secret "${secretId}" cannot be read: no secret source`));
    }
    const text = source.getSecretString(secretId).catch((error: unknown) => {
      throw new CredentialsError(`could not read secret "${secretId}": ${reasonOf(error)}`);
    });
    const entry = { expiresAt: now + this.#ttlMs, text };
    this.#cache.set(secretId, entry);
    // A failed lookup is not cached: the next resolve tries again.
    text.catch(() => {
      if (this.#cache.get(secretId) === entry) this.#cache.delete(secretId);
    });
    return text;
  }
}

/**
 * A secret is either the password/token itself, or a JSON object holding it in a field (named by the
 * reference, else `password` or `accessToken` by kind), as Secrets Manager stores key/value secrets.
 */
function valueFromSecret(
  secretId: string,
  text: string,
  field: string | undefined,
  kind: CredentialKind,
): string {
  const object = parseJsonObject(text);
  if (object === undefined) {
    if (field !== undefined) {
      throw new CredentialsError(`secret "${secretId}" is not a JSON object, so it has no field "${field}"`);
    }
    if (text === '') throw new CredentialsError(`secret "${secretId}" is empty`);
    return text;
  }
  const name = field ?? DEFAULT_SECRET_FIELD[kind];
  const value = object[name];
  if (typeof value !== 'string' || value === '') {
    throw new CredentialsError(`secret "${secretId}" has no non-empty string field "${name}"`);
  }
  return value;
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
