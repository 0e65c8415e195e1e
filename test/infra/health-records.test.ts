/**
 * The poll function's access to the mailboxes' health records (`<prefix>.health/<mailboxId>.json`): read and
 * written there, listed there only, and never written there without a condition.
 */
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { getAtt, statementsOf, synth } from './synth-helpers.ts';

type Statement = Record<string, unknown>;

const objects = (bucket: unknown, pattern: string) => ({ 'Fn::Join': ['', [bucket, pattern]] });

describe('health records in each mailbox folder', () => {
  const { stack, ingestion, template } = synth({ keyPrefix: 'inbound/' });
  const bucket = getAtt(stack, ingestion.bucket);
  const poll = statementsOf(template, stack, ingestion.pollFunction.role) as Statement[];

  it('lets the poll role read and write the health keys, named as such', () => {
    expect(poll).toContainEqual({
      Action: ['s3:GetObject', 's3:PutObject'],
      Effect: 'Allow',
      Resource: objects(bucket, '/inbound/.health/*'),
    });
  });

  it('lets it list those keys only, so a first run reads "no record yet" rather than "refused"', () => {
    expect(poll).toContainEqual({
      Action: 's3:ListBucket',
      Condition: { StringLike: { 's3:prefix': 'inbound/.health/*' } },
      Effect: 'Allow',
      Resource: bucket,
    });
    const lists = poll.filter((s) => JSON.stringify(s['Action']).includes('s3:ListBucket'));
    for (const list of lists) expect(list['Condition'], JSON.stringify(list)).toBeDefined();
  });

  it('gives the dispatch role no access to them', () => {
    const dispatch = statementsOf(template, stack, ingestion.dispatchFunction.role) as Statement[];
    expect(JSON.stringify(dispatch)).not.toContain('.health');
  });

  it('denies a health write with neither If-Match nor If-None-Match', () => {
    const [policy] = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    const statements = policy!['Properties'].PolicyDocument.Statement as Statement[];
    expect(statements).toContainEqual({
      Sid: 'PollRoleWritesHealthOnlyConditionally',
      Effect: 'Deny',
      Principal: { AWS: getAtt(stack, ingestion.pollFunction.role) },
      Action: 's3:PutObject',
      Resource: objects(bucket, '/inbound/.health/*'),
      Condition: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } },
    });
  });

  it("grants the same on an existing bucket, whose policy is the owner's to add", () => {
    const existing = synth({}, (s) => ({ bucket: s3.Bucket.fromBucketName(s, 'B', 'existing-mail') }));
    const statements = statementsOf(existing.template, existing.stack, existing.ingestion.pollFunction.role);
    expect(JSON.stringify(statements)).toContain(':s3:::existing-mail/mail/.health/*');
  });
});
