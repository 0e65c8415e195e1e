/**
 * The cdk-nag AwsSolutions findings this construct accepts, each with its reason in code, recorded with
 * CDK's own `Validations.acknowledge` (no cdk-nag import needed at synth). Wildcards are acknowledged one
 * resource at a time, so a new wildcard anywhere still fails the check.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import {
  healthObjectsPattern,
  incomingObjectsPattern,
  messageObjectsPattern,
  stateObjectsPattern,
} from './grants.ts';

export const NODE_RUNTIME_REASON =
  'The functions are bundled and tested for Node.js 22, an LTS release supported by Lambda; moving to a ' +
  'newer runtime is a deliberate upgrade, not a default.';

export const ACCESS_LOGS_REASON =
  'Server access logs need a second bucket that the caller owns: opt in with ' +
  'bucketProps.serverAccessLogsBucket. Only the poll role writes here, and CloudTrail records its calls.';

export function acknowledgeRuntime(scope: IConstruct): void {
  Validations.of(scope).acknowledge({ id: 'AwsSolutions-L1', reason: NODE_RUNTIME_REASON });
}

export function acknowledgeMissingAccessLogs(bucket: IConstruct): void {
  Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: ACCESS_LOGS_REASON });
}

/** What of a MailboxIngestion the accepted findings are about. */
export interface AcknowledgedResources {
  readonly dispatchFunction: lambda.Function;
  readonly pollFunction: lambda.Function;
  readonly bucket: s3.IBucket;
  readonly keyPrefix: string;
}

/**
 * The findings a MailboxIngestion's design accepts, each with its reason. `ownsUnloggedBucket`: the
 * construct created the bucket and no access-log bucket was given.
 */
export function acknowledgeAcceptedFindings(
  ingestion: AcknowledgedResources,
  options: { readonly ownsUnloggedBucket: boolean },
): void {
  acknowledgeRuntime(ingestion.dispatchFunction);
  acknowledgeRuntime(ingestion.pollFunction);
  if (options.ownsUnloggedBucket) acknowledgeMissingAccessLogs(ingestion.bucket);
  const role = ingestion.pollFunction.role!;
  const { bucket, keyPrefix } = ingestion;
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects(messageObjectsPattern(keyPrefix)),
    'Object keys are content-addressed (mailbox/uidl/sha256), so they are only known at run time; ' +
      'the wildcard is PutObject alone, under the key prefix, with no read, list or delete.',
  );
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects(incomingObjectsPattern(keyPrefix)),
    'Multipart uploads go to random temporary keys under the .incoming/ folder of the prefix, which the ' +
      'store reads back once (copy source), then deletes; nothing outside that folder.',
  );
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects(stateObjectsPattern(keyPrefix)),
    'Keep mode reads its per-mailbox state objects under the .state/ folder of the prefix (one per ' +
      'mailbox id, known only from the deployed config at run time); GetObject alone, writes stay conditional.',
  );
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects(healthObjectsPattern(keyPrefix)),
    'Each mailbox keeps its health record under the .health/ folder of the prefix (one per mailbox id, ' +
      'known only from the deployed config at run time); GetObject and PutObject there, writes conditional.',
  );
}

/**
 * Acknowledges AwsSolutions-IAM5 for one wildcard resource in the policies under `scope`. The finding id
 * is the resource flattened the way cdk-nag flattens it (`<LogicalId.Arn>/prefix/*`).
 */
export function acknowledgeWildcardResource(scope: IConstruct, resourceArn: string, reason: string): void {
  const flattened = flattenReference(Stack.of(scope).resolve(resourceArn));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}

/** A resolved CloudFormation value as cdk-nag prints it: Join concatenated, GetAtt and Ref in angle brackets. */
export function flattenReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenReference).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flattenReference(node['Fn::Sub']);
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
  }
  if (node['Fn::ImportValue'] !== undefined) return flattenReference(node['Fn::ImportValue']);
  if (node['Ref'] !== undefined) return `<${flattenReference(node['Ref'])}>`;
  return JSON.stringify(value);
}
