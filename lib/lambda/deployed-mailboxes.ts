/**
 * The mailboxes a deployment runs with, from one home for both functions and the construct:
 *
 * - Validation: the JSON Schema (parseConfig) plus one deployment rule, every credential is a Secrets
 *   Manager reference, so no secret ever sits in S3, SSM or a template, and no config can point a function
 *   at its own environment. Run by both functions (the dispatch function before it queues jobs, the poll
 *   function before it polls one) and by the CDK construct at synth (infra/inline-config.ts).
 * - The poll function's cache (DeployedConfigCache): the config read from the same place as the dispatcher
 *   reads it, checked by the same validator, and kept for the life of the container. A job names the config
 *   version the dispatcher read. While it matches the cached one no read is made; when it differs the
 *   document is read again, so an edited config applies from the first job dispatched with it. A job only
 *   ever selects a mailbox by id: host, port, TLS and secret all come from here, never from the job, so
 *   whoever can put a job on the queue can at most ask for a deployed mailbox to be polled.
 */
import { ConfigError, parseConfig } from '../config/load-config.ts';
import type { MailboxConfig, PollerConfig } from '../config/types.ts';
import {
  type ConfigLocation,
  type ConfigReaders,
  describeConfigLocation,
  readConfigDocument,
} from './config-source.ts';

export class DeployedConfigError extends Error {
  override readonly name = 'DeployedConfigError';
  /** One line per problem, each naming the mailbox (id when known) and the field. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid mailbox config:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const MAILBOX_INDEX = /^\/?mailboxes(?:\/|\[|\.)(\d+)\]?/;

/** "mailbox 'billing' (mailboxes/2): port: must be <= 65535" from "/mailboxes/2/port: must be <= 65535". */
export function nameMailboxInProblem(problem: string, document: unknown): string {
  const match = MAILBOX_INDEX.exec(problem);
  if (!match) return problem;
  const index = Number(match[1]);
  const mailboxes = (document as { mailboxes?: unknown } | null)?.mailboxes;
  const entry = Array.isArray(mailboxes) ? (mailboxes[index] as { id?: unknown } | undefined) : undefined;
  const name = typeof entry?.id === 'string' ? `mailbox '${entry.id}'` : `mailbox #${index}`;
  return `${name} (mailboxes/${index}): ${problem.slice(match[0].length).replace(/^[/.]/, '')}`;
}

/** Problems with secrets at rest: only `{ secretId }` passwords may be deployed. */
export function secretsAtRestProblems(config: PollerConfig): string[] {
  const problems: string[] = [];
  config.mailboxes.forEach((mailbox, index) => {
    const ref = mailbox.credential;
    if ('oauth2' in ref) {
      if (!('secretId' in ref.oauth2.secret)) {
        problems.push(
          `mailbox '${mailbox.id}' (mailboxes/${index}): oauth2.secret: is a local file; a deployed config must use ` +
            `{ "secretId": "..." }`,
        );
      }
      return;
    }
    if (!('secretId' in mailbox.credential)) {
      const field = mailbox.credentialKind === 'oauth2' ? 'accessToken' : 'password';
      const kind = 'literal' in mailbox.credential ? 'a literal' : 'an environment variable';
      problems.push(
        `mailbox '${mailbox.id}' (mailboxes/${index}): ${field}: is ${kind}; a deployed config must use ` +
          `{ "secretId": "..." } so that no secret is stored in the config`,
      );
    }
  });
  return problems;
}

export function validateDeployedConfig(document: unknown): PollerConfig {
  let config: PollerConfig;
  try {
    config = parseConfig(document);
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new DeployedConfigError(error.problems.map((problem) => nameMailboxInProblem(problem, document)));
    }
    throw error;
  }
  const problems = secretsAtRestProblems(config);
  if (problems.length > 0) throw new DeployedConfigError(problems);
  return config;
}

/** The distinct Secrets Manager ids the config refers to (names or ARNs), in first-seen order. */
export function referencedSecretIds(config: PollerConfig): string[] {
  const ids = new Set<string>();
  for (const mailbox of config.mailboxes) {
    if ('secretId' in mailbox.credential) ids.add(mailbox.credential.secretId);
    const oauth2 = 'oauth2' in mailbox.credential ? mailbox.credential.oauth2 : undefined;
    if (oauth2 !== undefined && 'secretId' in oauth2.secret) ids.add(oauth2.secret.secretId);
  }
  return [...ids];
}

/** The secrets the poll function writes back to: those of refresh-token mailboxes (rotation). */
export function rotatedSecretIds(config: PollerConfig): string[] {
  const ids = new Set<string>();
  for (const mailbox of config.mailboxes) {
    const oauth2 = 'oauth2' in mailbox.credential ? mailbox.credential.oauth2 : undefined;
    if (oauth2?.grant === 'refresh_token' && 'secretId' in oauth2.secret) ids.add(oauth2.secret.secretId);
  }
  return [...ids];
}

export interface DeployedMailboxes {
  /** The version of the document these mailboxes come from (SHA-256 of its text). */
  readonly version: string;
  readonly byId: ReadonlyMap<string, MailboxConfig>;
  /** Whether this lookup read the document (false: served from the container's cache). */
  readonly read: boolean;
}

interface CachedConfig {
  readonly location: string;
  readonly version: string;
  readonly byId: ReadonlyMap<string, MailboxConfig>;
}

export class DeployedConfigCache {
  readonly #readers: ConfigReaders;
  #cached: CachedConfig | undefined;

  constructor(readers: ConfigReaders) {
    this.#readers = readers;
  }

  /**
   * The deployed mailboxes for a job dispatched from config version `version`. Throws what reading or
   * validating throws (the caller retries the job later); a failed read leaves the cache as it was.
   */
  async mailboxesFor(location: ConfigLocation, version: string): Promise<DeployedMailboxes> {
    const where = describeConfigLocation(location);
    const cached = this.#cached;
    if (cached !== undefined && cached.location === where && cached.version === version) {
      return { version: cached.version, byId: cached.byId, read: false };
    }
    const { document, version: readVersion } = await readConfigDocument(location, this.#readers);
    const config = validateDeployedConfig(document);
    const byId = new Map(config.mailboxes.map((mailbox) => [mailbox.id, mailbox]));
    this.#cached = { location: where, version: readVersion, byId };
    return { version: readVersion, byId, read: true };
  }
}
