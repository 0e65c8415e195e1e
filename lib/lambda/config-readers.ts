/**
 * The AWS calls behind ConfigReaders (lib/lambda/config-source.ts), shared by both functions so that they
 * read the config the same way: GetObject for a config in S3, GetParameter for one in SSM (a SecureString
 * comes back decrypted). Where the config lives, its version and its parsing are config-source.ts's.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetParameterCommand,
  type GetParameterCommandOutput,
  SSMClient,
  type SSMClientConfig,
} from '@aws-sdk/client-ssm';
import { AWS_CLIENT_DEFAULTS, endpointFromEnv, httpStatusOf, regionFromEnv } from '../adapters/aws-common.ts';
import type { ConfigReaders } from './config-source.ts';

export function awsConfigReaders(s3: S3Client): ConfigReaders {
  // Only a config kept in SSM needs this client, so it is made on first use.
  let ssm: SSMClient | undefined;
  return {
    readS3Object: async (bucket, key) => {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new Error(`s3://${bucket}/${key} has no body`);
      return response.Body.transformToString('utf-8');
    },
    readSsmParameter: (name) => {
      ssm ??= createSsmClient();
      return readSsmParameter(name, ssm);
    },
  };
}

/** The one SSM call made here, so tests can stand in for the client. */
export interface GetParameterClient {
  send(command: GetParameterCommand): Promise<GetParameterCommandOutput>;
}

export class ParameterReadError extends Error {
  override readonly name = 'ParameterReadError';
}

/** The value of an SSM parameter (a SecureString comes back decrypted). */
export async function readSsmParameter(name: string, client: GetParameterClient): Promise<string> {
  let reply: GetParameterCommandOutput;
  try {
    reply = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  } catch (error) {
    // Named by code and status; the SDK's own message stays in `cause`.
    const status = httpStatusOf(error);
    const code = error instanceof Error ? error.name : 'unknown error';
    throw new ParameterReadError(
      `SSM GetParameter ${name} failed: ${status === undefined ? '' : `HTTP ${status} `}${code}`,
      { cause: error },
    );
  }
  const value = reply.Parameter?.Value;
  if (typeof value !== 'string') throw new ParameterReadError(`SSM parameter ${name} has no value`);
  return value;
}

/** An SSM client for AWS_REGION, pointed at AWS_ENDPOINT_URL_SSM when it is set. */
export function createSsmClient(config: SSMClientConfig = {}): SSMClient {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_SSM');
  return new SSMClient({
    region: regionFromEnv(),
    ...AWS_CLIENT_DEFAULTS,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...config,
  });
}
