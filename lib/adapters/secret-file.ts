/**
 * An OAuth2 credential document in a local file (the CLI's counterpart of a Secrets Manager secret).
 * A rotated refresh token replaces the file atomically: written to a temporary file beside it, flushed,
 * renamed over it. A crash leaves either the old document or the new one, never half of each.
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Raised as a credentials problem (lib/pipeline/classify-failure.ts); names the file, never its content. */
class SecretFileError extends Error {
  override readonly name = 'CredentialsError';
}

export async function readSecretFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new SecretFileError(`secret file ${file} cannot be read (${codeOf(error)})`);
  }
}

export async function writeSecretFileAtomically(file: string, text: string): Promise<void> {
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    // 0600: the document holds a refresh token and maybe a client secret.
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw new SecretFileError(`secret file ${file} cannot be written (${codeOf(error)})`);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
