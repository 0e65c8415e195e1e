/**
 * Writing a rotated refresh token back where it came from, as a compare-and-swap. Two processes that both
 * read one document and both write must not both succeed: the later write would replace a token the
 * other stored (perhaps a person's fresh `oauth login`), and the one left stored could be spent or of a
 * revoked family. Each store writes only if the document is still the version it read (Secrets Manager:
 * the AWSCURRENT version id; a file: its content and mtime), and says `conflict` otherwise.
 *
 * On a conflict the document is read again. If it still holds the refresh token we spent, only other
 * fields changed: ours is put into that document and written again. If it holds another refresh token,
 * that one is newer than ours (another run rotated it, or a person logged in again): it is kept, and the
 * caller requests its access token with it (`superseded`).
 */
import type { OAuth2SecretRef } from '../ports.ts';
import { withRefreshToken } from './settings.ts';

type Location = OAuth2SecretRef['secret'];

/** A credential document and the version it was read at (undefined: the store has no versions). */
export interface StoredDocument {
  readonly text: string;
  readonly version: string | undefined;
}

/** Reads and writes credential documents: Secrets Manager, or a local file (lib/adapters/credentials.ts). */
export interface OAuth2SecretStore {
  read(location: Location): Promise<StoredDocument>;
  /** Replaces the document only if it is still `expected`; `conflict` when another writer came first. */
  write(location: Location, text: string, expected: StoredDocument): Promise<'written' | 'conflict'>;
}

export type SaveResult =
  | { readonly outcome: 'written' }
  | { readonly outcome: 'superseded'; readonly current: StoredDocument };

/** Other fields of a document changing under us this often in a row: something keeps rewriting it. */
const MAX_REBASES = 3;

/** A rotated refresh token could not be stored: a person must fix write access (failed, `credentials`). */
export class RefreshTokenNotSavedError extends Error {
  override readonly name = 'CredentialsError';
}

export function describeLocation(location: Location): string {
  return 'secretId' in location ? `secret "${location.secretId}"` : `secret file ${location.file}`;
}

/** Stores `rotated` in place of `spent` in the document read as `read`, conditionally (see above). */
export async function saveRotatedRefreshToken(
  store: OAuth2SecretStore,
  location: Location,
  read: StoredDocument,
  spent: string | undefined,
  rotated: string,
): Promise<SaveResult> {
  const where = describeLocation(location);
  let base = read;
  for (let rebases = 0; ; rebases++) {
    let result: 'written' | 'conflict';
    let current: StoredDocument;
    try {
      result = await store.write(location, withRefreshToken(base.text, rotated), base);
      if (result === 'written') return { outcome: 'written' };
      current = await store.read(location);
    } catch (error) {
      throw new RefreshTokenNotSavedError(
        `the token endpoint rotated the refresh token, but it could not be written back to ${where}; ` +
          'the new access token was not used. Check write access (Secrets Manager: secretsmanager:PutSecretValue)',
        { cause: error },
      );
    }
    if (refreshTokenIn(current.text) !== spent) return { outcome: 'superseded', current };
    if (rebases >= MAX_REBASES) {
      throw new RefreshTokenNotSavedError(
        `${where} kept changing while a rotated refresh token was written back; the new access token was not used`,
      );
    }
    base = current;
  }
}

function refreshTokenIn(text: string): string | undefined {
  try {
    const token = (JSON.parse(text) as { refreshToken?: unknown } | null)?.refreshToken;
    return typeof token === 'string' ? token : undefined;
  } catch {
    return undefined;
  }
}
