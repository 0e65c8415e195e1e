/**
 * The poll role against the health records as IAM evaluates it: its identity policy and the bucket policy
 * of the synthesized template, run through an IAM policy simulator (@cloud-copilot/iam-simulate) with the
 * template's references replaced by concrete ARNs. A conditional write of a health record is allowed, a
 * blind one denied, and the stored messages keep their protection.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { statementsOf, synth } from './synth-helpers.ts';

const ACCOUNT = '123456789012';
const BUCKET_ARN = 'arn:aws:s3:::mail-bucket';
const POLL_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/poll`;

const { stack, ingestion, template } = synth();
const bucketId = stack.getLogicalId(ingestion.bucket.node.defaultChild as never);
const roleId = stack.getLogicalId(ingestion.pollFunction.role!.node.defaultChild as never);

/** A template value with its references made concrete: the bucket and the poll role by name. */
function concrete(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(concrete);
  if (value === null || typeof value !== 'object') return value;
  const node = value as Record<string, unknown>;
  if (node['Fn::Join']) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map(concrete).join(delimiter);
  }
  if (node['Fn::GetAtt']) {
    const [id] = node['Fn::GetAtt'] as [string, string];
    if (id === bucketId) return BUCKET_ARN;
    if (id === roleId) return POLL_ROLE_ARN;
    return `arn:aws:sqs:eu-west-1:${ACCOUNT}:${id}`;
  }
  if (node['Ref'] === 'AWS::Partition') return 'aws';
  if (node['Ref'] !== undefined) return `other-${String(node['Ref'])}`;
  return Object.fromEntries(Object.entries(node).map(([key, inner]) => [key, concrete(inner)]));
}

const identityPolicy = {
  Version: '2012-10-17',
  Statement: concrete(statementsOf(template, stack, ingestion.pollFunction.role)),
};
const [bucketPolicy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
const resourcePolicy = concrete(bucketPolicy!['Properties'].PolicyDocument);

async function decide(action: string, resource: string, context: Record<string, string> = {}) {
  const response = await runSimulation(
    {
      identityPolicies: [{ name: 'poll', policy: identityPolicy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
      request: {
        action,
        principal: POLL_ROLE_ARN,
        resource: { accountId: ACCOUNT, resource },
        contextVariables: context,
      },
    } as never,
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}

const HEALTH_KEY = `${BUCKET_ARN}/mail/.health/support.json`;

describe('the poll role and the health records, as IAM decides', () => {
  it('reads a health record', async () => {
    expect(await decide('s3:GetObject', HEALTH_KEY)).toBe('Allowed');
  });

  it('writes one with If-Match (an update of the version read) or If-None-Match (the first write)', async () => {
    expect(await decide('s3:PutObject', HEALTH_KEY, { 's3:if-match': '"etag"' })).toBe('Allowed');
    expect(await decide('s3:PutObject', HEALTH_KEY, { 's3:if-none-match': '*' })).toBe('Allowed');
  });

  it('is denied a blind write of one', async () => {
    expect(await decide('s3:PutObject', HEALTH_KEY)).toBe('ExplicitlyDenied');
  });

  it('lists the health keys, and nothing else', async () => {
    const list = (prefix: string) => decide('s3:ListBucket', BUCKET_ARN, { 's3:prefix': prefix });
    expect(await list('mail/.health/support.json')).toBe('Allowed');
    expect(await list('mail/support/')).toBe('ImplicitlyDenied');
  });

  it('still cannot overwrite a stored message, even one whose UIDL is ".health"', async () => {
    for (const key of ['mail/support/uidl/abc/0f.eml', 'mail/support/uidl/.health/0f.eml']) {
      expect(await decide('s3:PutObject', `${BUCKET_ARN}/${key}`)).toBe('ExplicitlyDenied');
      expect(await decide('s3:PutObject', `${BUCKET_ARN}/${key}`, { 's3:if-match': '"etag"' })).toBe(
        'ExplicitlyDenied',
      );
      expect(await decide('s3:PutObject', `${BUCKET_ARN}/${key}`, { 's3:if-none-match': '*' })).toBe(
        'Allowed',
      );
    }
  });
});
