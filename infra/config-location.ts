/**
 * Where the dispatch and poll functions read the mailbox list at run time (each is bound to it). An S3
 * object has no size limit and is the choice for long lists; an SSM parameter holds at most 4 KB
 * (standard tier) or 8 KB (advanced tier).
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { ENV_NAMES } from '../lib/lambda/env-names.ts';
import { grantParameterRead } from './grants.ts';

/** SSM parameter value limits (Systems Manager quotas). */
export const SSM_STANDARD_TIER_MAX_BYTES = 4 * 1024;
export const SSM_ADVANCED_TIER_MAX_BYTES = 8 * 1024;

export interface BoundConfigLocation {
  /** The environment a function reads it from (see lib/lambda/config-source.ts). */
  readonly environment: Readonly<Record<string, string>>;
}

export abstract class ConfigLocation {
  /** A JSON object in S3. Grants s3:GetObject on that one key (and kms:Decrypt if the bucket has a key). */
  static fromBucket(bucket: s3.IBucket, key: string): ConfigLocation {
    return new S3ConfigLocation(bucket, key);
  }

  /** An SSM parameter (String or SecureString). Grants ssm:GetParameter on that one parameter (and kms:Decrypt on its key). */
  static fromParameter(parameter: ssm.IParameter): ConfigLocation {
    return new ParameterConfigLocation(parameter);
  }

  /** Grants the reader exactly what it needs and returns the environment that points it here. */
  abstract bind(reader: iam.IGrantable): BoundConfigLocation;
}

class S3ConfigLocation extends ConfigLocation {
  constructor(
    private readonly bucket: s3.IBucket,
    private readonly key: string,
  ) {
    super();
  }

  bind(reader: iam.IGrantable): BoundConfigLocation {
    // Not bucket.grantRead: that grants GetObject*, GetBucket* and List* where one GetObject is enough.
    iam.Grant.addToPrincipal({
      grantee: reader,
      actions: ['s3:GetObject'],
      resourceArns: [this.bucket.arnForObjects(this.key)],
    });
    this.bucket.encryptionKey?.grantDecrypt(reader);
    return {
      environment: { [ENV_NAMES.configBucket]: this.bucket.bucketName, [ENV_NAMES.configKey]: this.key },
    };
  }
}

class ParameterConfigLocation extends ConfigLocation {
  constructor(private readonly parameter: ssm.IParameter) {
    super();
  }

  bind(reader: iam.IGrantable): BoundConfigLocation {
    grantParameterRead(reader, this.parameter);
    return { environment: { [ENV_NAMES.configParameter]: this.parameter.parameterName } };
  }
}
