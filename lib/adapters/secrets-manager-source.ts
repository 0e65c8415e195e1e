/**
 * SecretSource on AWS Secrets Manager (GetSecretValue; a secret id is a name or an ARN). PutSecretValue
 * stores a rotated OAuth2 refresh token as the secret's new current version (the poll role may do so only
 * on the secrets of refresh-token mailboxes, infra/grants.ts).
 */
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
    this.#client ??= createSecretsManagerClient();
    const reply = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
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

  async putSecretString(secretId: string, text: string): Promise<void> {
    this.#client ??= createSecretsManagerClient();
    await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }));
  }
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
