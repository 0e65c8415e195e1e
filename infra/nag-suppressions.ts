/**
 * The cdk-nag AwsSolutions findings this construct accepts, each with its reason in code, recorded with
 * CDK's own `Validations.acknowledge` (no cdk-nag import needed at synth). Wildcards are acknowledged one
 * resource at a time, so a new wildcard anywhere still fails the check.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

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
