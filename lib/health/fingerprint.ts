/**
 * The fingerprint the circuit breaker opens on: a salted SHA-256 of what a person changes to fix the
 * cause (the connection settings, the secret reference) and of the secret's current material (the
 * password, or the OAuth2 credential document). A new secret version, a rotated password or an edited
 * config gives another fingerprint, and the held-back mailbox is tried again at once.
 *
 * Never the secret itself, and not a bare hash of it either: the salt is random per fingerprint, so the
 * record in S3 cannot be looked up in a table of hashed common passwords. The salt is kept in the
 * fingerprint (`s1:<salt>:<hash>`), so the next run can hash the same way and compare.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MailboxConfig } from '../config/types.ts';

/** What the secret of a mailbox is now (the value or its document), read the way a run would read it. */
export type SecretMaterial = (mailbox: MailboxConfig, signal?: AbortSignal) => Promise<string>;

const PREFIX = 's1';

/** The settings a configuration fix changes: where to connect, how, as whom, with which secret, keep mode. */
function settingsOf(mailbox: MailboxConfig): string {
  return JSON.stringify([
    mailbox.host,
    mailbox.port,
    mailbox.tls,
    mailbox.username,
    mailbox.credential,
    mailbox.credentialKind,
    mailbox.auth,
    mailbox.ca ?? null,
    mailbox.servername ?? null,
    mailbox.allowInsecureAuth,
    mailbox.keep ?? null,
  ]);
}

/**
 * The fingerprint of `mailbox` with its secret material `material` (undefined: it could not be read, so
 * only the settings count). `like` is a recorded fingerprint whose salt to reuse, so the two compare.
 */
export function fingerprintOf(mailbox: MailboxConfig, material: string | undefined, like?: string): string {
  const salt = saltOf(like) ?? randomBytes(12).toString('base64url');
  const hash = createHash('sha256')
    .update(`${salt}\u0000${settingsOf(mailbox)}\u0000${material ?? ''}`)
    .digest('base64url');
  return `${PREFIX}:${salt}:${hash}`;
}

function saltOf(fingerprint: string | undefined): string | undefined {
  const parts = fingerprint?.split(':');
  return parts?.length === 3 && parts[0] === PREFIX && parts[1] !== '' ? parts[1] : undefined;
}
