/**
 * A SecretSource that sends one GetSecretValue for any number of concurrent reads of the same secret.
 *
 * Why: in the fleet layout many mailboxes share one secret (docs/deploy.md, "Secrets for many mailboxes").
 * Password secrets are already cached per secret id for the container (ConfigCredentialsProvider, TTL
 * DEFAULT_SECRET_CACHE_TTL_MS), and that cache keeps the pending read too. OAuth2 credential documents are
 * read uncached on purpose (another container may have rotated a refresh token), so the mailboxes of one
 * client-credentials app, polled together in one batch, each read the app's secret at once. Joining a
 * read already in flight changes nothing they see: every one of them would have read that same version.
 *
 * Only reads in flight are shared, nothing is kept after one settles (a failed read is retried by the next
 * caller). A write drops the read in flight for its secret, so no read that starts after a write can be
 * answered by a request sent before it.
 */
import type { SecretSource } from './credentials.ts';

export function coalesceReads(source: SecretSource): SecretSource {
  const inFlight = new Map<string, Promise<string>>();
  const coalesced: SecretSource = {
    getSecretString(secretId) {
      const pending = inFlight.get(secretId);
      if (pending !== undefined) return pending;
      const read = source.getSecretString(secretId).finally(() => {
        if (inFlight.get(secretId) === read) inFlight.delete(secretId);
      });
      inFlight.set(secretId, read);
      return read;
    },
  };
  const put = source.putSecretString?.bind(source);
  if (put === undefined) return coalesced;
  return {
    ...coalesced,
    async putSecretString(secretId, text) {
      inFlight.delete(secretId);
      await put(secretId, text);
      inFlight.delete(secretId);
    },
  };
}
