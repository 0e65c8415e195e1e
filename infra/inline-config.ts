/**
 * An inline mailbox list: validated at synth time (the same check the dispatch function runs), then
 * stored in an SSM parameter for the dispatch function to read.
 */
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { MailboxLimits } from '../lib/config/types.ts';
import {
  DeployedConfigError,
  referencedSecretIds,
  rotatedSecretIds,
  validateDeployedConfig,
} from '../lib/lambda/deployed-mailboxes.ts';
import { SSM_ADVANCED_TIER_MAX_BYTES, SSM_STANDARD_TIER_MAX_BYTES } from './config-location.ts';
import type { MailboxEntry } from './props.ts';

export interface InlineConfig {
  readonly parameter: ssm.StringParameter;
  /** The secretIds the mailboxes refer to. */
  readonly secretIds: readonly string[];
  /** The secretIds of refresh-token mailboxes, which the poll function writes rotated tokens back to. */
  readonly rotatedSecretIds: readonly string[];
}

export function inlineConfig(
  scope: Construct,
  id: string,
  mailboxes: readonly MailboxEntry[],
  defaultLimits: Partial<MailboxLimits> | undefined,
): InlineConfig {
  const document =
    defaultLimits === undefined ? { mailboxes } : { mailboxes, defaults: { limits: defaultLimits } };
  let secretIds: string[];
  let rotatedIds: string[];
  try {
    const config = validateDeployedConfig(document);
    secretIds = referencedSecretIds(config);
    rotatedIds = rotatedSecretIds(config);
  } catch (error) {
    if (error instanceof DeployedConfigError) {
      throw new Error(`MailboxIngestion: invalid mailboxes:\n  ${error.problems.join('\n  ')}`);
    }
    throw error;
  }
  const value = JSON.stringify(document);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > SSM_ADVANCED_TIER_MAX_BYTES) {
    throw new Error(
      `MailboxIngestion: the inline mailboxes take ${bytes} bytes, more than an SSM parameter holds ` +
        `(${SSM_ADVANCED_TIER_MAX_BYTES}); put the config in S3 and pass configLocation: ConfigLocation.fromBucket(...)`,
    );
  }
  const parameter = new ssm.StringParameter(scope, id, {
    description:
      'Mailbox config of the poller (validated at synth; passwords are Secrets Manager references)',
    stringValue: value,
    tier: bytes > SSM_STANDARD_TIER_MAX_BYTES ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
  });
  return { parameter, secretIds, rotatedSecretIds: rotatedIds };
}
