/**
 * SecretSource on AWS Secrets Manager (GetSecretValue; a secret id is a name or an ARN). PutSecretValue
 * stores a rotated OAuth2 refresh token as the secret's new current version (the poll role may do so only
 * on the secrets of refresh-token mailboxes, infra/grants.ts).
 *
 * That write is a compare-and-swap on the AWSCURRENT version (lib/oauth/write-back.ts), with no permission
 * beyond GetSecretValue and PutSecretValue:
 * - compare: the current version id must still be the one the document was read at (catches any other
 *   writer: a person's `oauth login`, the console);
 * - swap: the new version's ClientRequestToken (which becomes its version id) is derived from the version
 *   it replaces. Secrets Manager creates a version id once: a second writer that read the same version
 *   asks for the same id with other content and gets ResourceExistsException, so of two runs racing past
 *   the compare only one succeeds. The same content again (an SDK retry of our own call) is a no-op.
 */
import { createHash } from 'node:crypto';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  PutSecretValueCommand,
  type PutSecretValueCommandOutput,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { AWS_CLIENT_DEFAULTS, endpointFromEnv, regionFromEnv } from './aws-common.ts';
import type { SecretSource } from './credentials.ts';

/** The one call this source makes, so tests can stand in for the client. */
export interface GetSecretValueClient {
  send(command: GetSecretValueCommand): Promise<GetSecretValueCommandOutput>;
  send(command: PutSecretValueCommand): Promise<PutSecretValueCommandOutput>;
}

export interface SecretsManagerSourceOptions {
  /** Default: a client from the environment, created on first use (configs without secrets never need one). */
  readonly client?: GetSecretValueClient;
}

export class SecretsManagerSource implements SecretSource {
  #client: GetSecretValueClient | undefined;

  constructor(options: SecretsManagerSourceOptions = {}) {
    this.#client = options.client;
  }

  async getSecretString(secretId: string): Promise<string> {
    return (await this.getSecretVersion(secretId)).text;
  }

  /** The current (AWSCURRENT) value and its version id. */
  async getSecretVersion(secretId: string): Promise<{ text: string; versionId: string | undefined }> {
    this.#client ??= createSecretsManagerClient();
    const reply = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
    return { text: textOf(secretId, reply), versionId: reply.VersionId };
  }

  async putSecretString(secretId: string, text: string): Promise<void> {
    this.#client ??= createSecretsManagerClient();
    await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
  }

  /** Stores `text` as the new current version only if `versionId` still is the current one (see above). */
  async putSecretStringIfCurrent(
    secretId: string,
    text: string,
    versionId: string,
  ): Promise<'written' | 'conflict'> {
    this.#client ??= createSecretsManagerClient();
    const client: GetSecretValueClient = this.#client;
    const isCurrent = async () =>
      (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).VersionId === versionId;
    // The successor's id may exist while `versionId` is current again (someone moved AWSCURRENT back):
    // then the next id of the same chain is tried, which any racer that read `versionId` also computes.
    let candidate = versionId;
    for (let tries = 0; tries < MAX_SUCCESSOR_TRIES; tries++) {
      if (!(await isCurrent())) return 'conflict';
      candidate = successorVersionId(candidate);
      try {
        await client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            SecretString: text,
            ClientRequestToken: candidate,
          }),
        );
        return 'written';
      } catch (error) {
        if (!(error instanceof Error && error.name === 'ResourceExistsException')) throw error;
      }
    }
    return 'conflict';
  }
}

/** Successor ids tried while the version read stays current (see putSecretStringIfCurrent). */
const MAX_SUCCESSOR_TRIES = 4;

/**
 * The version id a rotation of `versionId` creates: the same for every writer that read that version.
 * UUID-shaped, as Secrets Manager's own ids (a ClientRequestToken is 32 to 64 characters).
 */
export function successorVersionId(versionId: string): string {
  const hex = createHash('sha256').update(`mailbox-poller rotation of ${versionId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function textOf(secretId: string, reply: GetSecretValueCommandOutput): string {
  if (reply.SecretString !== undefined) return reply.SecretString;
  if (reply.SecretBinary !== undefined) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(reply.SecretBinary);
    } catch {
      throw new Error(`secret "${secretId}" is binary and not UTF-8 text`);
    }
  }
  throw new Error(`secret "${secretId}" has no value`);
}

/** A Secrets Manager client for AWS_REGION, pointed at AWS_ENDPOINT_URL_SECRETS_MANAGER when it is set. */
export function createSecretsManagerClient(config: SecretsManagerClientConfig = {}): SecretsManagerClient {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER');
  return new SecretsManagerClient({
    region: regionFromEnv(),
    ...AWS_CLIENT_DEFAULTS,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...config,
  });
}
