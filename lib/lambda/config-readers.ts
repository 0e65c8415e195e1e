/**
 * The AWS calls behind ConfigReaders, shared by both functions so that they read the config the same
 * way: GetObject for a config in S3, GetParameter (decrypted) for one in SSM.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { ConfigReaders } from './config-source.ts';
import { createSsmClient, readSsmParameter } from './ssm-parameter.ts';

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
