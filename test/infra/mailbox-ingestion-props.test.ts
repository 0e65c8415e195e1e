import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { describe, expect, it } from 'vitest';
import { secretArnFor } from '../../infra/grants.ts';
import {
  ConfigLocation,
  MailboxIngestion,
  type MailboxIngestionProps,
} from '../../infra/mailbox-ingestion.ts';
import { ENV, MAILBOXES, statementsOf, synth } from './synth-helpers.ts';

describe('MailboxIngestion: props', () => {
  it('polls on the given schedule, and derives the slot period and alarm thresholds from it', () => {
    const { template } = synth({ schedule: Duration.minutes(10) });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(10 minutes)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SCHEDULE_PERIOD_SECONDS: '600' }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 1800,
    });
  });

  it('sizes the poll function and scales the job visibility timeout with its timeout', () => {
    const { template } = synth({
      pollMemorySize: 1024,
      pollTimeout: Duration.minutes(10),
      maxConcurrency: 50,
      jobMaxReceiveCount: 3,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Timeout: 600,
      Environment: { Variables: Match.objectLike({ JOB_MAX_RECEIVE_COUNT: '3' }) },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      VisibilityTimeout: 3600,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('writes under another key prefix, and grants only that', () => {
    const { template, stack, ingestion } = synth({ keyPrefix: 'archive/inbound/' });
    const resources = statementsOf(template, stack, ingestion.pollFunction.role)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('s3:'))
      .map((s: { Resource: { 'Fn::Join'?: [string, unknown[]] }; Condition?: unknown }) =>
        s.Resource['Fn::Join'] ? s.Resource['Fn::Join'][1][1] : s.Condition,
      );
    expect(resources).toEqual([
      '/archive/inbound/*',
      '/archive/inbound/.incoming/*',
      '/archive/inbound/.state/*',
      { StringLike: { 's3:prefix': 'archive/inbound/.state/*' } },
      '/archive/inbound/.health/*',
      { StringLike: { 's3:prefix': 'archive/inbound/.health/*' } },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ KEY_PREFIX: 'archive/inbound/' }) },
    });
  });

  it('versions and archives the new bucket on request, keeping the cleanup rules', () => {
    const { template } = synth({
      versioned: true,
      archive: { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, after: Duration.days(90) },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({ Id: 'abort-incomplete-uploads' }),
          Match.objectLike({
            Id: 'expire-temporary-objects',
            NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          }),
          Match.objectLike({ Id: 'expire-old-state-versions' }),
          Match.objectLike({
            Id: 'archive-messages',
            Prefix: 'mail/',
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
          }),
        ],
      },
    });
  });

  it('keeps public access blocked and TLS enforced whatever bucketProps say', () => {
    const { template } = synth({
      bucketProps: {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS,
        enforceSSL: false,
        bucketName: 'my-mail',
      },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: 'my-mail',
      PublicAccessBlockConfiguration: {
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
      },
    });
    template.resourceCountIs('AWS::S3::BucketPolicy', 1);
  });

  it('encrypts the bucket and every queue with a customer key, and grants its use', () => {
    const { template, stack, ingestion } = synth({}, (s) => ({
      kmsKey: new kms.Key(s, 'Key', { enableKeyRotation: true }),
    }));
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() },
          },
        ],
      },
    });
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    for (const queue of queues) expect(queue['Properties'].KmsMasterKeyId).toBeDefined();
    const kmsActions = statementsOf(template, stack, ingestion.pollFunction.role)
      .filter((s: { Action: unknown }) => JSON.stringify(s.Action).includes('kms:'))
      .flatMap((s: { Action: string | string[] }) => s.Action);
    expect(new Set(kmsActions)).toEqual(new Set(['kms:GenerateDataKey', 'kms:Decrypt']));
  });

  it('makes the notification queue FIFO, with a FIFO DLQ', () => {
    const { template } = synth({ notificationQueueProps: { fifo: true } });
    expect(
      Object.keys(template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } })),
    ).toHaveLength(4);
  });

  it('uses an existing bucket and queue, creating neither, and grants on them', () => {
    const { template, stack, ingestion } = synth({}, (s) => ({
      bucket: s3.Bucket.fromBucketName(s, 'Existing', 'existing-mail'),
      notificationQueue: sqs.Queue.fromQueueArn(s, 'Queue', 'arn:aws:sqs:eu-west-1:123456789012:mail-events'),
    }));
    template.resourceCountIs('AWS::S3::Bucket', 0);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    expect(ingestion.notificationDeadLetterQueue).toBeUndefined();
    const resources = statementsOf(template, stack, ingestion.pollFunction.role).map(
      (s: { Resource: unknown }) => s.Resource,
    );
    expect(resources).toContainEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::existing-mail/mail/*']],
    });
    expect(resources).toContain('arn:aws:sqs:eu-west-1:123456789012:mail-events');
  });

  it('sends every alarm to the given topic', () => {
    const { template } = synth({}, (s) => ({ alarmAction: new sns.Topic(s, 'Alarms') }));
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
    });
  });

  it('reads the config from S3, granting GetObject on that key only', () => {
    const { template, stack, ingestion } = synth({}, (s) => ({
      configLocation: ConfigLocation.fromBucket(
        s3.Bucket.fromBucketName(s, 'Config', 'config-bucket'),
        'poller/mailboxes.json',
      ),
      secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail/all-AbCdEf'],
      mailboxes: undefined,
    }));
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ CONFIG_BUCKET: 'config-bucket', CONFIG_KEY: 'poller/mailboxes.json' }),
      },
    });
    const statements = statementsOf(template, stack, ingestion.dispatchFunction.role);
    expect(statements).toContainEqual({
      Action: 's3:GetObject',
      Effect: 'Allow',
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::config-bucket/poller/mailboxes.json']],
      },
    });
    expect(statementsOf(template, stack, ingestion.pollFunction.role)).toContainEqual({
      Action: 'secretsmanager:GetSecretValue',
      Effect: 'Allow',
      Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail/all-AbCdEf',
    });
  });

  it('reads the config from an existing SSM parameter', () => {
    const { template } = synth({}, (s) => ({
      configLocation: ConfigLocation.fromParameter(
        ssm.StringParameter.fromStringParameterName(s, 'P', '/poller/config'),
      ),
      secretArns: [],
      mailboxes: undefined,
    }));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CONFIG_PARAMETER: '/poller/config' }) },
    });
  });

  it('puts default limits into the stored config', () => {
    const { template } = synth({ defaultLimits: { maxMessagesPerRun: 200 } });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Value: JSON.stringify({ mailboxes: MAILBOXES, defaults: { limits: { maxMessagesPerRun: 200 } } }),
    });
  });

  it('names the metrics, logs and alarms after serviceName and metricsNamespace', () => {
    const { template } = synth({
      serviceName: 'intake',
      metricsNamespace: 'Acme/Mail',
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'intake', METRICS_NAMESPACE: 'Acme/Mail' }),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Acme/Mail',
      Dimensions: [{ Name: 'Service', Value: 'intake' }],
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });
});

describe('MailboxIngestion: rejected props', () => {
  it.each<[string, (s: Stack) => Partial<MailboxIngestionProps>, RegExp]>([
    [
      'mailboxes with configLocation',
      (s) => ({
        configLocation: ConfigLocation.fromParameter(
          ssm.StringParameter.fromStringParameterName(s, 'P', '/p'),
        ),
        secretArns: [],
      }),
      /either mailboxes or configLocation/,
    ],
    [
      'bucket with bucketProps',
      (s) => ({ bucket: s3.Bucket.fromBucketName(s, 'B', 'existing-mail'), bucketProps: {} }),
      /either bucket or bucketProps/,
    ],
    [
      'bucket with versioned',
      (s) => ({ bucket: s3.Bucket.fromBucketName(s, 'B', 'existing-mail'), versioned: true }),
      /either bucket or versioned/,
    ],
    [
      'notificationQueue with its props',
      (s) => ({
        notificationQueue: sqs.Queue.fromQueueArn(s, 'Q', 'arn:aws:sqs:eu-west-1:1:q'),
        notificationQueueProps: {},
      }),
      /either notificationQueue or notificationQueueProps/,
    ],
    ['a schedule in seconds', () => ({ schedule: Duration.seconds(90) }), /schedule must be whole minutes/],
  ])('rejects %s', (_, props, message) => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    expect(() => new MailboxIngestion(stack, 'Mail', { mailboxes: MAILBOXES, ...props(stack) })).toThrow(
      message,
    );
  });

  it('requires a config and, with a config location, the secrets to grant', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    expect(() => new MailboxIngestion(stack, 'A', {})).toThrow(/pass the mailboxes inline/);
    const configLocation = ConfigLocation.fromParameter(
      ssm.StringParameter.fromStringParameterName(stack, 'P', '/p'),
    );
    expect(() => new MailboxIngestion(stack, 'B', { configLocation })).toThrow(
      /configLocation needs secretArns/,
    );
  });

  it('fails synth on a bad inline mailbox, naming the mailbox and the field', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const bad = [MAILBOXES[0]!, { ...MAILBOXES[1]!, port: 70_000 }];
    expect(() => new MailboxIngestion(stack, 'Mail', { mailboxes: bad })).toThrow(
      /mailbox 'invoices' \(mailboxes\/1\): port: /,
    );
  });

  it('fails synth on a password stored in the config', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const literal = [{ ...MAILBOXES[0]!, password: 'hunter2' }];
    expect(() => new MailboxIngestion(stack, 'Mail', { mailboxes: literal })).toThrow(
      /mailbox 'support' \(mailboxes\/0\): password: is a literal/,
    );
  });

  it('switches to the advanced tier above 4 KB and refuses more than 8 KB', () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ ...MAILBOXES[0]!, id: `box-${i}` }));
    const medium = synth({ mailboxes: many(40) });
    medium.template.hasResourceProperties('AWS::SSM::Parameter', { Tier: 'Advanced' });
    expect(() => synth({ mailboxes: many(80) })).toThrow(
      /more than an SSM parameter holds \(8192\); put the config in S3/,
    );
  });
});

describe('secret ARNs to grant', () => {
  const stack = new Stack(new App(), 'S', { env: ENV });
  it('adds the random suffix wildcard to a name and to a partial ARN, and keeps a complete ARN', () => {
    expect(stack.resolve(secretArnFor(stack, 'mail/support'))).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:eu-west-1:123456789012:secret:mail/support-??????',
        ],
      ],
    });
    expect(secretArnFor(stack, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail')).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail-??????',
    );
    expect(secretArnFor(stack, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail-Ab12Cd')).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail-Ab12Cd',
    );
  });
});
