import { readFileSync } from 'node:fs';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import {
  ConfigLocation,
  MailboxIngestion,
  type MailboxIngestionProps,
} from '../../infra/mailbox-ingestion.ts';

const MAILBOXES = [
  {
    id: 'support',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'support@example.com',
    password: { secretId: 'mail/support' },
  },
];

function build(props: (stack: Stack) => Partial<MailboxIngestionProps> = () => ({}), validation = false) {
  const app = new App({
    builtinCloudFormationValidation: validation,
    context: { 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const extra = props(stack);
  const ingestion = new MailboxIngestion(stack, 'Mail', {
    ...(extra.configLocation ? {} : { mailboxes: MAILBOXES }),
    ...extra,
  });
  return { app, stack, ingestion };
}

/** Every AwsSolutions finding left after the construct's acknowledgments, as "rule @ path". */
function findings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it.each<[string, (stack: Stack) => Partial<MailboxIngestionProps>]>([
    ['the defaults', () => ({})],
    ['a customer-managed key', (s) => ({ kmsKey: new kms.Key(s, 'Key', { enableKeyRotation: true }) })],
    [
      'FIFO notifications and versioning off',
      () => ({ notificationQueueProps: { fifo: true }, versioned: false }),
    ],
    ['a custom key prefix', () => ({ keyPrefix: 'inbound/mail/' })],
    ['an event bus beside the queue', (s) => ({ eventBus: new events.EventBus(s, 'Bus') })],
    [
      'an event bus alone',
      (s) => ({ eventBus: new events.EventBus(s, 'Bus'), notificationQueueEnabled: false }),
    ],
    ['a dashboard', () => ({ dashboard: { dashboardName: 'mail' } })],
    ['the parse stage', () => ({ parsedMail: true })],
    [
      'the parse stage under a customer-managed key',
      (s) => ({ parsedMail: true, kmsKey: new kms.Key(s, 'Key', { enableKeyRotation: true }) }),
    ],
    [
      'existing bucket and queue',
      (s) => ({
        bucket: s3.Bucket.fromBucketName(s, 'B', 'existing-mail'),
        notificationQueue: sqs.Queue.fromQueueArn(s, 'Q', 'arn:aws:sqs:eu-west-1:123456789012:mail-events'),
      }),
    ],
    [
      'a config in S3',
      (s) => ({
        configLocation: ConfigLocation.fromBucket(
          s3.Bucket.fromBucketName(s, 'C', 'config-bucket'),
          'mailboxes.json',
        ),
        secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail/all-AbCdEf'],
      }),
    ],
    [
      'a config in SSM',
      (s) => ({
        configLocation: ConfigLocation.fromParameter(
          ssm.StringParameter.fromStringParameterName(s, 'P', '/poller/config'),
        ),
        secretArns: [],
      }),
    ],
  ])('has no unacknowledged finding with %s', (_, props) => {
    const { app } = build(props);
    expect(findings(app)).toEqual([]);
  });

  it('gives a reason for every acknowledged finding', () => {
    const { ingestion } = build();
    const acknowledged = ingestion.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledged.map(([id]) => id.replace(/^annotation::/i, '')).sort()).toEqual([
      'AwsSolutions-IAM5[Resource::<MailBucketC2C0137B.Arn>/mail/*]',
      'AwsSolutions-IAM5[Resource::<MailBucketC2C0137B.Arn>/mail/.health/*]',
      'AwsSolutions-IAM5[Resource::<MailBucketC2C0137B.Arn>/mail/.incoming/*]',
      'AwsSolutions-IAM5[Resource::<MailBucketC2C0137B.Arn>/mail/.state/*]',
      'AwsSolutions-L1',
      'AwsSolutions-L1',
      'AwsSolutions-S1',
    ]);
    for (const [, reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it('still reports a wildcard that the construct did not acknowledge', () => {
    const { app, ingestion } = build();
    ingestion.pollFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [ingestion.bucket.arnForObjects('*')],
      }),
    );
    expect(findings(app)).toEqual([
      'AwsSolutions-IAM5[Resource::<MailBucketC2C0137B.Arn>/*] @ Test/Mail/PollRole/DefaultPolicy/Resource',
    ]);
  });

  it('needs no acknowledgment for access logs once a log bucket is given', () => {
    const { app, ingestion } = build((s) => ({
      bucketProps: { serverAccessLogsBucket: s3.Bucket.fromBucketName(s, 'Logs', 'access-logs-bucket') },
    }));
    expect(findings(app)).toEqual([]);
    const ids = ingestion.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>));
    expect(ids.some((id) => id.endsWith('AwsSolutions-S1'))).toBe(false);
  });
});

describe('CloudFormation template validation', () => {
  it('reports nothing for the synthesized template', () => {
    const { app } = build(() => ({}), true);
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(`${assembly.directory}/validation-report.json`, 'utf8')) as {
      pluginReports: { violations?: unknown[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations ?? [])).toEqual([]);
  });
});
