/**
 * The stack outputs of a MailboxIngestion, on request (`outputs: true`): what "Verify your deployment" in
 * docs/deploy.md reads after `cdk deploy`, so a user's own stack needs no CfnOutput of its own.
 *
 * Off by default: outputs are part of a stack's interface (another stack may import one, and
 * CloudFormation then refuses to change it), so an app opts in. Each output's key is the construct's id
 * followed by the name (`new MailboxIngestion(this, 'Mail', …)` → `MailBucketName`): stable and readable
 * (a CfnOutput's generated logical id carries a hash of its path), and two ingestions in one stack do not
 * collide. Only alphanumerics are allowed in a logical id, so other characters of the id are left out.
 */
import { CfnOutput } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The members of the construct the outputs name. */
export interface OutputSource extends Construct {
  readonly bucket: s3.IBucket;
  readonly jobDeadLetterQueue: sqs.IQueue;
  readonly pollFunction: lambda.IFunction;
  readonly dispatchFunction: lambda.IFunction;
  readonly dashboardUrl: string | undefined;
}

/** Adds the outputs; resolves nothing at synth time. Returns them by name (without the prefix). */
export function addIngestionOutputs(
  ingestion: OutputSource,
  alarmTopic?: sns.ITopic,
  /** Absent with `notificationQueueEnabled: false`: no queue outputs then. */
  notificationQueue?: sqs.IQueue,
): Map<string, CfnOutput> {
  const prefix = ingestion.node.id.replace(/[^A-Za-z0-9]/g, '');
  const outputs = new Map<string, CfnOutput>();
  const output = (name: string, value: string | undefined, description: string) => {
    if (value === undefined) return;
    const cfnOutput = new CfnOutput(ingestion, `Output${name}`, { value, description });
    cfnOutput.overrideLogicalId(`${prefix}${name}`);
    outputs.set(name, cfnOutput);
  };
  output('BucketName', ingestion.bucket.bucketName, 'Bucket of the stored messages (one object per message)');
  output('NotificationQueueUrl', notificationQueue?.queueUrl, 'Queue of the message notifications');
  output('NotificationQueueArn', notificationQueue?.queueArn, 'ARN of the notification queue');
  output('JobDeadLetterQueueUrl', ingestion.jobDeadLetterQueue.queueUrl, 'Poll jobs that failed for good');
  output('AlarmTopicArn', alarmTopic?.topicArn, 'SNS topic of the alarms: subscribe to it');
  output(
    'PollFunctionName',
    ingestion.pollFunction.functionName,
    'Poll function (its log group holds every run)',
  );
  output('DispatchFunctionName', ingestion.dispatchFunction.functionName, 'Invoke it to poll now');
  output('DashboardUrl', ingestion.dashboardUrl, 'CloudWatch dashboard of the ingestion');
  return outputs;
}
