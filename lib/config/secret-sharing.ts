/**
 * Which secrets mailboxes may share (docs/deploy.md, "Secrets for many mailboxes"):
 * - password (and access-token) mailboxes: any number, one JSON field each (`{ secretId, field }`);
 * - client-credentials mailboxes of one app: one credential document;
 * - a refresh-token mailbox: a secret of its own. The poller writes a rotated refresh token back into it
 *   (PutSecretValue of the whole document), so two writers would overwrite each other's token, and a
 *   password field kept in it would live in a secret the poll role may write.
 * A refresh-token secret named by anything else is a configuration error, found before any run.
 */
import { configPath } from './schema-errors.ts';

/** How one mailbox uses a secret id. */
interface SecretUse {
  readonly index: number;
  readonly pointer: string;
  readonly refreshToken: boolean;
}

/** The Secrets Manager secret ids a mailbox entry names, as written (before the schema's defaults). */
function usesOf(mailbox: unknown, index: number): [string, SecretUse][] {
  if (mailbox === null || typeof mailbox !== 'object') return [];
  const entry = mailbox as Record<string, unknown>;
  const uses: [string, SecretUse][] = [];
  for (const key of ['password', 'accessToken']) {
    const secretId = (entry[key] as { secretId?: unknown } | null | undefined)?.secretId;
    if (typeof secretId === 'string') {
      uses.push([secretId, { index, pointer: `/mailboxes/${index}/${key}/secretId`, refreshToken: false }]);
    }
  }
  const oauth2 = entry.oauth2 as { grant?: unknown; secret?: { secretId?: unknown } | null } | undefined;
  const secretId = oauth2?.secret?.secretId;
  if (typeof secretId === 'string') {
    const refreshToken = oauth2?.grant === 'refresh_token';
    uses.push([secretId, { index, pointer: `/mailboxes/${index}/oauth2/secret/secretId`, refreshToken }]);
  }
  return uses;
}

/** One "path: problem" line for every use of a refresh-token secret by a second mailbox or reference. */
export function secretSharingProblems(json: unknown): string[] {
  const mailboxes = (json as { mailboxes?: unknown } | null)?.mailboxes;
  if (!Array.isArray(mailboxes)) return [];
  const bySecret = new Map<string, SecretUse[]>();
  mailboxes.forEach((mailbox: unknown, index) => {
    for (const [secretId, use] of usesOf(mailbox, index)) {
      bySecret.set(secretId, [...(bySecret.get(secretId) ?? []), use]);
    }
  });
  const problems: string[] = [];
  for (const [secretId, uses] of bySecret) {
    const owner = uses.find((use) => use.refreshToken);
    if (owner === undefined) continue;
    for (const use of uses) {
      if (use === owner) continue;
      problems.push(
        `${configPath(use.pointer)}: ${JSON.stringify(secretId)} is the refresh-token secret of mailboxes[${owner.index}],` +
          ' which the poller rewrites at every rotation; give each refresh-token mailbox a secret of its own' +
          ' and keep passwords and app credentials elsewhere',
      );
    }
  }
  return problems;
}
