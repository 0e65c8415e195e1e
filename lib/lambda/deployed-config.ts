/**
 * Validation of the config a deployment runs with: the JSON Schema (parseConfig) plus one deployment rule,
 * every password is a Secrets Manager reference, so no secret ever sits in S3, SSM or a template, and no
 * config can point a function at its own environment. Used by both functions at run time (the dispatch
 * function before it queues jobs, the poll function before it polls one) and by the CDK construct at synth.
 */
import { ConfigError, parseConfig } from '../config/load-config.ts';
import type { PollerConfig } from '../config/types.ts';

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
