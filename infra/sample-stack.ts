/**
 * The stack of the sample app (infra/app.ts): one MailboxIngestion with its dashboard, alarms sent to an
 * SNS topic, and the outputs a person needs after `cdk deploy` (see "Verify your deployment" in
 * docs/deploy.md).
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { type MailboxEntry, MailboxIngestion } from './mailbox-ingestion.ts';

export const SAMPLE_MAILBOXES: readonly MailboxEntry[] = [
  {
    id: 'support',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'support@example.com',
    password: { secretId: 'mailbox-poller/support' },
  },
  {
    id: 'invoices',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'invoices@example.com',
    password: { secretId: 'mailbox-poller/invoices' },
  },
];

export interface MailboxPollerStackProps extends StackProps {
  readonly mailboxes: readonly MailboxEntry[];
}

export class MailboxPollerStack extends Stack {
  readonly ingestion: MailboxIngestion;
  readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: MailboxPollerStackProps) {
    super(scope, id, props);
    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'Mailbox poller alarms',
      enforceSSL: true,
    });
    this.ingestion = new MailboxIngestion(this, 'Ingestion', {
      mailboxes: props.mailboxes,
      alarmAction: this.alarmTopic,
      dashboard: true,
    });
    const ingestion = this.ingestion;
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output(
      'BucketName',
      ingestion.bucket.bucketName,
      'Bucket of the stored messages (one object per message)',
    );
    output(
      'NotificationQueueUrl',
      ingestion.notificationQueue.queueUrl,
      'Queue of the message notifications',
    );
    output('NotificationQueueArn', ingestion.notificationQueue.queueArn, 'ARN of the notification queue');
    output('JobDeadLetterQueueUrl', ingestion.jobDeadLetterQueue.queueUrl, 'Poll jobs that failed for good');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic of the alarms: subscribe to it');
    output(
      'PollFunctionName',
      ingestion.pollFunction.functionName,
      'Poll function (its log group: see docs)',
    );
    output('DispatchFunctionName', ingestion.dispatchFunction.functionName, 'Invoke it to poll now');
    output('DashboardUrl', ingestion.dashboardUrl!, 'CloudWatch dashboard of the ingestion');
  }
}
