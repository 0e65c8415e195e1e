/** The public API of MailboxIngestion beyond its props: grants for consumers, and metric helpers. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { MailboxIngestion, type MailboxIngestionProps } from '../../infra/mailbox-ingestion.ts';
import { ENV, getAtt, MAILBOXES, statementsOf, synth } from './synth-helpers.ts';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** A stack with the construct and a consumer role, the grant made before the template is synthesized. */
function withConsumer(
  grant: (ingestion: MailboxIngestion, role: iam.Role) => iam.Grant,
  props: Partial<MailboxIngestionProps> = {},
  key = false,
) {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: ENV });
  const role = new iam.Role(stack, 'Consumer', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  const ingestion = new MailboxIngestion(stack, 'Mail', {
    mailboxes: MAILBOXES,
    ...(key ? { kmsKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }) } : {}),
    ...props,
  });
  expect(grant(ingestion, role).success).toBe(true);
  const statements = statementsOf(Template.fromStack(stack), stack, role) as Statement[];
  return { ingestion, stack, statements };
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat()).sort();

describe('grantConsumeNotifications', () => {
  it('lets the grantee receive, delete and hide notifications, on the notification queue only', () => {
    const { ingestion, stack, statements } = withConsumer((i, role) => i.grantConsumeNotifications(role));
    expect(actionsOf(statements)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    for (const statement of statements)
      expect(statement.Resource).toEqual(getAtt(stack, ingestion.notificationQueue));
  });

  it('adds kms:Decrypt on the customer-managed key of the queue', () => {
    const { ingestion, stack, statements } = withConsumer(
      (i, role) => i.grantConsumeNotifications(role),
      {},
      true,
    );
    const kmsStatement = statements.find((s) => JSON.stringify(s.Action).includes('kms:'));
    expect(kmsStatement?.Action).toEqual('kms:Decrypt');
    expect(kmsStatement?.Resource).toEqual(getAtt(stack, ingestion.notificationQueue.encryptionMasterKey));
  });
});

describe('grantReadMessages', () => {
  it('lets the grantee get objects under the key prefix: no list, write or delete', () => {
    const { ingestion, stack, statements } = withConsumer((i, role) => i.grantReadMessages(role), {
      keyPrefix: 'inbound/',
    });
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [getAtt(stack, ingestion.bucket), '/inbound/*']] },
      },
    ]);
  });

  it('adds kms:Decrypt on the bucket key', () => {
    const { ingestion, stack, statements } = withConsumer((i, role) => i.grantReadMessages(role), {}, true);
    expect(actionsOf(statements)).toEqual(['kms:Decrypt', 's3:GetObject']);
    const kmsStatement = statements.find((s) => s.Action === 'kms:Decrypt');
    expect(kmsStatement?.Resource).toEqual(getAtt(stack, ingestion.bucket.encryptionKey));
  });
});

describe('metric helpers', () => {
  const { ingestion, stack } = synth({ serviceName: 'intake', metricsNamespace: 'Mail/Ingest' });

  it.each([
    ['metricMessagesIngested', 'MessagesRetrieved', 'Sum'],
    ['metricBytesIngested', 'BytesRetrieved', 'Sum'],
    ['metricUncommittedMessages', 'UncommittedMessages', 'Maximum'],
    ['metricPollDuration', 'PollDuration', 'Maximum'],
  ] as const)('%s reads %s (%s) of every mailbox of the service', (helper, metricName, statistic) => {
    const metric = ingestion[helper]();
    expect(metric.namespace).toBe('Mail/Ingest');
    expect(metric.metricName).toBe(metricName);
    expect(metric.dimensions).toEqual({ Service: 'intake' });
    expect(metric.statistic).toBe(statistic);
    expect(metric.period.toMinutes()).toBe(5);
  });

  it('reads PollFailures of one reason, or of all of them', () => {
    const auth = ingestion.metricPollFailures('auth');
    expect(auth.metricName).toBe('PollFailures');
    expect(auth.dimensions).toEqual({ Service: 'intake', Reason: 'auth' });
    expect(auth.statistic).toBe('Sum');
    expect(ingestion.metricPollFailures().dimensions).toEqual({ Service: 'intake' });
    expect(ingestion.metricDroppedJobs('bad-job').dimensions).toEqual({
      Service: 'intake',
      Reason: 'bad-job',
    });
  });

  it('takes the options of the CDK helpers: statistic, period, label, dimensions', () => {
    const metric = ingestion.metricPollFailures('IN-USE', {
      statistic: 'SampleCount',
      period: Duration.hours(1),
      label: 'busy',
    });
    expect([metric.statistic, metric.period.toHours(), metric.label]).toEqual(['SampleCount', 1, 'busy']);
    const oneMailbox = ingestion.metricMessagesIngested({
      dimensionsMap: { Service: 'intake', MailboxId: 'support' },
    });
    expect(oneMailbox.dimensions).toEqual({ Service: 'intake', MailboxId: 'support' });
  });

  it('reads the age of the oldest poll job from the job queue', () => {
    const metric = ingestion.metricOldestJobAge();
    expect([metric.namespace, metric.metricName, metric.statistic]).toEqual([
      'AWS/SQS',
      'ApproximateAgeOfOldestMessage',
      'Maximum',
    ]);
    expect(stack.resolve(metric.dimensions)).toEqual({
      QueueName: {
        'Fn::GetAtt': [stack.getLogicalId(ingestion.jobQueue.node.defaultChild as never), 'QueueName'],
      },
    });
  });

  it('uses the names the alarms watch', () => {
    const { template } = synth();
    const alarmed = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm['Properties'].MetricName,
    );
    expect(alarmed).toEqual(expect.arrayContaining(['UncommittedMessages', 'PollFailures', 'DroppedJobs']));
  });
});
