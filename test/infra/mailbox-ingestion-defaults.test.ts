import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { getAtt, MAILBOXES, statementsOf, synth } from './synth-helpers.ts';

describe('MailboxIngestion: what it creates', () => {
  const { template } = synth();

  it('creates one of each part', () => {
    template.resourceCountIs('AWS::S3::Bucket', 1);
    template.resourceCountIs('AWS::SQS::Queue', 4);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.resourceCountIs('AWS::SSM::Parameter', 1);
    template.resourceCountIs('AWS::Logs::LogGroup', 2);
    template.resourceCountIs('AWS::IAM::Role', 3);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 10);
  });

  it('makes the bucket private, encrypted and TLS-only, and cleans up interrupted uploads', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'abort-incomplete-uploads',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              Status: 'Enabled',
            },
            {
              Id: 'expire-temporary-objects',
              Prefix: 'mail/.incoming/',
              ExpirationInDays: 1,
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
              Status: 'Enabled',
            },
            {
              Id: 'expire-old-state-versions',
              Prefix: 'mail/.state/',
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
              Status: 'Enabled',
            },
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('encrypts every queue and denies non-TLS access to each', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    for (const queue of Object.values(queues)) expect(queue['Properties'].SqsManagedSseEnabled).toBe(true);
    template.resourceCountIs('AWS::SQS::QueuePolicy', 4);
    template.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('uses a FIFO job queue with a visibility timeout of 6 × the poll timeout and a FIFO DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      VisibilityTimeout: 1800,
      MessageRetentionPeriod: 86_400,
      RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
    });
    expect(
      Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } })),
    ).toHaveLength(2);
  });

  it('keeps notifications 14 days in a standard queue with a DLQ, and retains both', () => {
    template.hasResource('AWS::SQS::Queue', {
      DeletionPolicy: 'Retain',
      Properties: {
        FifoQueue: Match.absent(),
        MessageRetentionPeriod: 1_209_600,
        RedrivePolicy: { maxReceiveCount: 5, deadLetterTargetArn: Match.anyValue() },
      },
    });
  });

  it('runs both functions on Node.js 22, ARM64, with source maps and bounded logs', () => {
    template.allResourcesProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('POP3'),
      MemorySize: 512,
      Timeout: 300,
    });
  });

  it('feeds the poll function batches of 10 jobs, reporting partial failures, at most 10 at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('dispatches every 5 minutes with the scheduled time as input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 3 },
      }),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SCHEDULE_PERIOD_SECONDS: '300', CONFIG_PARAMETER: Match.anyValue() }),
      },
    });
  });

  it('stores the inline config, validated, in a standard-tier SSM parameter', () => {
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Type: 'String',
      Tier: 'Standard',
      Value: JSON.stringify({ mailboxes: MAILBOXES }),
    });
  });

  it('raises alarms on both DLQs, auth failures, poll failures, job age, dispatch errors, uncommitted messages and dropped jobs', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a['Properties'],
    );
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(2);
    expect(byMetric('AuthFailures')[0]).toMatchObject({
      Namespace: 'MailboxPoller',
      Threshold: 1,
      Dimensions: [{ Name: 'Service', Value: 'Test-Mail' }],
    });
    expect(byMetric('PollFailures')[0]).toMatchObject({ Threshold: 5, Period: 900 });
    expect(byMetric('ApproximateAgeOfOldestMessage')[0]).toMatchObject({ Threshold: 900 });
    expect(byMetric('Errors')).toHaveLength(1);
    expect(byMetric('UncommittedMessages')).toHaveLength(1);
    expect(byMetric('DroppedJobs')).toHaveLength(1);
    for (const alarm of alarms) expect(alarm.AlarmActions).toBeUndefined();
  });
});

describe('MailboxIngestion: least privilege', () => {
  const { stack, ingestion, template } = synth();
  const bucketArn = getAtt(stack, ingestion.bucket);

  it('lets the poll function write and read below the key prefix, delete only in its temporary folder, send, and read its secrets', () => {
    expect(statementsOf(template, stack, ingestion.pollFunction.role)).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: expect.anything() },
      { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: expect.anything() },
      {
        // GetObject: the store checks an object already under a message's key (412) before counting it stored.
        Action: ['s3:PutObject', 's3:GetObject'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [bucketArn, '/mail/*']] },
      },
      {
        Action: ['s3:AbortMultipartUpload', 's3:DeleteObject'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [bucketArn, '/mail/.incoming/*']] },
      },
      // Keep mode's per-mailbox state: read, and listed under its own folder only (404 for "none yet").
      {
        Action: 's3:GetObject',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [bucketArn, '/mail/.state/*']] },
      },
      {
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': 'mail/.state/*' } },
      },
      // Each mailbox's health record, read and (conditionally) written; listed there only.
      {
        Action: ['s3:GetObject', 's3:PutObject'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [bucketArn, '/mail/.health/*']] },
      },
      {
        Action: 's3:ListBucket',
        Effect: 'Allow',
        Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': 'mail/.health/*' } },
      },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: getAtt(stack, ingestion.notificationQueue) },
      {
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        Resource: [
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':secretsmanager:eu-west-1:123456789012:secret:mail/support-??????',
              ],
            ],
          },
          {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':secretsmanager:eu-west-1:123456789012:secret:mail/invoices-??????',
              ],
            ],
          },
        ],
      },
      {
        Action: [
          'sqs:ReceiveMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueUrl',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
        ],
        Effect: 'Allow',
        Resource: getAtt(stack, ingestion.jobQueue),
      },
    ]);
  });

  it('lets the dispatch function read its config and send jobs, nothing else', () => {
    const statements = statementsOf(template, stack, ingestion.dispatchFunction.role);
    expect(statements.map((s: { Action: unknown }) => s.Action)).toEqual([
      ['logs:CreateLogStream', 'logs:PutLogEvents'],
      'ssm:GetParameter',
      'sqs:SendMessage',
    ]);
    expect(statements[2].Resource).toEqual(getAtt(stack, ingestion.jobQueue));
  });

  it('lets the scheduler invoke the unqualified dispatch function only, from this account', () => {
    const role = ingestion.node.findChild('ScheduleRole');
    expect(statementsOf(template, stack, role)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: getAtt(stack, ingestion.dispatchFunction),
      },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ],
      },
    });
  });

  it('attaches no managed policy to any role', () => {
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});
