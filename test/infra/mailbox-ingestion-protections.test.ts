/**
 * What holds against a forged job or an overwrite whatever the identity policies say: the job queue's and
 * the bucket's resource policies, versioning, the poll function's own read of the config, and the alarms
 * that show uncommitted messages and dropped jobs.
 */
import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import { describe, expect, it } from 'vitest';
import { ConfigLocation } from '../../infra/mailbox-ingestion.ts';
import { getAtt, statementsOf, synth } from './synth-helpers.ts';

type Statement = Record<string, unknown>;

function policyStatements(template: ReturnType<typeof synth>['template'], type: string, target: string) {
  const policies = Object.values(template.findResources(type)).filter((policy) =>
    JSON.stringify(policy['Properties']).includes(target),
  );
  return policies.flatMap((policy) => policy['Properties'].PolicyDocument.Statement as Statement[]);
}

describe('the job queue: only the dispatch role sends jobs', () => {
  const { stack, ingestion, template } = synth();
  const jobQueue = stack.getLogicalId(ingestion.jobQueue.node.defaultChild as never);

  it('denies SendMessage to every principal whose ARN is not the dispatch role', () => {
    const statements = policyStatements(template, 'AWS::SQS::QueuePolicy', jobQueue);
    expect(statements).toContainEqual({
      Sid: 'OnlyTheDispatcherSendsJobs',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(stack, ingestion.jobQueue),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': getAtt(stack, ingestion.dispatchFunction.role) } },
    });
  });

  it('grants SendMessage on the job queue to the dispatch role and to no other role', () => {
    const sends = (role: unknown) =>
      statementsOf(template, stack, role).filter(
        (s: Statement) =>
          s['Action'] === 'sqs:SendMessage' && JSON.stringify(s['Resource']).includes(jobQueue),
      );
    expect(sends(ingestion.dispatchFunction.role)).toHaveLength(1);
    expect(sends(ingestion.pollFunction.role)).toEqual([]);
  });

  it('puts the deny on the job queue only: SQS itself moves failed jobs to the DLQ', () => {
    const deadLetter = stack.getLogicalId(ingestion.jobDeadLetterQueue.node.defaultChild as never);
    const statements = policyStatements(template, 'AWS::SQS::QueuePolicy', deadLetter);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.map((s) => s['Sid'])).not.toContain('OnlyTheDispatcherSendsJobs');
  });
});

describe('the bucket: stored mail is never overwritten', () => {
  it('denies the poll role any write onto a final key without If-None-Match', () => {
    const { stack, ingestion, template } = synth();
    const statements = policyStatements(template, 'AWS::S3::BucketPolicy', 'Deny');
    expect(statements).toContainEqual({
      Sid: 'PollRoleNeverOverwrites',
      Effect: 'Deny',
      Principal: { AWS: getAtt(stack, ingestion.pollFunction.role) },
      Action: 's3:PutObject',
      // Everything but the store's temporary folder, whose multipart parts cannot carry the header, and
      // keep mode's state objects and the health records, which have their own denies below.
      NotResource: [
        { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/mail/.incoming/*']] },
        { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/mail/.state/*']] },
        { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/mail/.health/*']] },
      ],
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
    // A state object is replaced only with If-Match (or created with If-None-Match).
    expect(statements).toContainEqual({
      Sid: 'PollRoleWritesStateOnlyConditionally',
      Effect: 'Deny',
      Principal: { AWS: getAtt(stack, ingestion.pollFunction.role) },
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/mail/.state/*']] },
      Condition: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } },
    });
  });

  it('follows the key prefix', () => {
    const { stack, ingestion, template } = synth({ keyPrefix: 'inbound/' });
    const deny = policyStatements(template, 'AWS::S3::BucketPolicy', 'PollRoleNeverOverwrites').find(
      (s) => s['Sid'] === 'PollRoleNeverOverwrites',
    );
    expect(deny?.['NotResource']).toEqual([
      { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/inbound/.incoming/*']] },
      { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/inbound/.state/*']] },
      { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/inbound/.health/*']] },
    ]);
  });

  it('turns versioning on by default and off with versioned: false', () => {
    synth().template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
    });
    const off = synth({ versioned: false }).template;
    const [bucket] = Object.values(off.findResources('AWS::S3::Bucket'));
    expect(bucket?.['Properties'].VersioningConfiguration).toBeUndefined();
    expect(JSON.stringify(bucket?.['Properties'].LifecycleConfiguration)).not.toContain('Noncurrent');
    // The overwrite protection does not depend on versioning.
    expect(JSON.stringify(off.findResources('AWS::S3::BucketPolicy'))).toContain('s3:if-none-match');
  });

  it('cannot change the policy of an existing bucket, and creates none for it', () => {
    const { template } = synth({}, (s) => ({ bucket: s3.Bucket.fromBucketName(s, 'B', 'existing-mail') }));
    template.resourceCountIs('AWS::S3::BucketPolicy', 0);
  });
});

describe('the poll function reads the deployed config itself', () => {
  it('gets read access to the inline config parameter and the variable that names it', () => {
    const { stack, ingestion, template } = synth();
    const parameter = ingestion.node.findChild('Config');
    const parameterArn = JSON.stringify(stack.resolve((parameter as ssm.StringParameter).parameterArn));
    const reads = statementsOf(template, stack, ingestion.pollFunction.role).filter((s: Statement) =>
      JSON.stringify(s['Action']).includes('ssm:GetParameter'),
    );
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]['Resource'])).toBe(parameterArn);
    const functions = template.findResources('AWS::Lambda::Function');
    const variables = Object.values(functions).map((f) => f['Properties'].Environment.Variables);
    const parameterName = stack.resolve((parameter as ssm.StringParameter).parameterName);
    // Both functions are pointed at the same parameter.
    expect(variables.map((v) => v.CONFIG_PARAMETER)).toEqual([parameterName, parameterName]);
  });

  it('gets GetObject on the config key only when the config is in S3', () => {
    const { stack, ingestion, template } = synth({}, (s) => ({
      configLocation: ConfigLocation.fromBucket(s3.Bucket.fromBucketName(s, 'C', 'config-bucket'), 'm.json'),
      secretArns: [],
      mailboxes: undefined,
    }));
    expect(statementsOf(template, stack, ingestion.pollFunction.role)).toContainEqual({
      Action: 's3:GetObject',
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::config-bucket/m.json']] },
    });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const f of functions) {
      expect(f['Properties'].Environment.Variables).toMatchObject({
        CONFIG_BUCKET: 'config-bucket',
        CONFIG_KEY: 'm.json',
      });
    }
  });
});

describe('alarms for what a person must look at', () => {
  const { template } = synth();
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a['Properties']);

  it('fires when uncommitted messages stay above zero for three consecutive schedule periods', () => {
    expect(alarms.find((a) => a.MetricName === 'UncommittedMessages')).toMatchObject({
      Namespace: 'MailboxPoller',
      Dimensions: [{ Name: 'Service', Value: 'Test-Mail' }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('fires on the first dropped job', () => {
    expect(alarms.find((a) => a.MetricName === 'DroppedJobs')).toMatchObject({
      Dimensions: [{ Name: 'Service', Value: 'Test-Mail' }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('stretches the uncommitted window with the schedule', () => {
    const { template: hourly } = synth({ schedule: Duration.hours(1) });
    const alarm = Object.values(hourly.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a['Properties'])
      .find((a) => a.MetricName === 'UncommittedMessages');
    expect(alarm).toMatchObject({ Period: 3600, EvaluationPeriods: 3 });
  });
});
