/**
 * `outputs: true` gives a user's own stack the outputs "Verify your deployment" (docs/deploy.md) reads,
 * keyed by the construct's id; without it the construct adds none.
 */
import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { ENV, MAILBOXES, synth } from './synth-helpers.ts';

/** The logical id of the only resource of `type` in the template. */
function onlyResource(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids, type).toHaveLength(1);
  return ids[0]!;
}

describe('MailboxIngestion outputs', () => {
  it('adds none by default; with outputs: true, the bucket, queues and functions keyed by the construct id', () => {
    expect(synth().template.findOutputs('*')).toEqual({});
    const { template, ingestion, stack } = synth({ outputs: true });
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual([
      'MailBucketName',
      'MailDispatchFunctionName',
      'MailJobDeadLetterQueueUrl',
      'MailNotificationQueueArn',
      'MailNotificationQueueUrl',
      'MailPollFunctionName',
    ]);
    expect(outputs['MailBucketName']!.Value).toEqual({ Ref: onlyResource(template, 'AWS::S3::Bucket') });
    const outputValue = (name: string) => outputs[`Mail${name}`]!.Value as unknown;
    expect(outputValue('NotificationQueueUrl')).toEqual(stack.resolve(ingestion.notificationQueue.queueUrl));
    expect(outputValue('NotificationQueueArn')).toEqual(stack.resolve(ingestion.notificationQueue.queueArn));
    expect(outputValue('JobDeadLetterQueueUrl')).toEqual(
      stack.resolve(ingestion.jobDeadLetterQueue.queueUrl),
    );
    expect(outputValue('PollFunctionName')).toEqual(stack.resolve(ingestion.pollFunction.functionName));
    expect(outputValue('DispatchFunctionName')).toEqual(
      stack.resolve(ingestion.dispatchFunction.functionName),
    );
    expect(outputValue('JobDeadLetterQueueUrl')).not.toEqual(outputValue('NotificationQueueUrl'));
  });

  it('adds the alarm topic and the dashboard when the construct has them', () => {
    const { template } = synth({ outputs: true, dashboard: true }, (stack) => ({
      alarmAction: new sns.Topic(stack, 'Alarms', { enforceSSL: true }),
    }));
    const outputs = template.findOutputs('*');
    expect(outputs['MailAlarmTopicArn']!.Value).toEqual({ Ref: onlyResource(template, 'AWS::SNS::Topic') });
    expect(JSON.stringify(outputs['MailDashboardUrl']!.Value)).toContain('console.aws.amazon.com/cloudwatch');
  });

  it('two ingestions in one stack get outputs of their own', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Two', { env: ENV });
    new MailboxIngestion(stack, 'Support-Mail', { mailboxes: MAILBOXES.slice(0, 1), outputs: true });
    new MailboxIngestion(stack, 'Invoices', { mailboxes: MAILBOXES.slice(1), outputs: true });
    const keys = Object.keys(Template.fromStack(stack).findOutputs('*'));
    expect(keys).toContain('SupportMailBucketName');
    expect(keys).toContain('InvoicesBucketName');
    expect(keys).toHaveLength(12);
  });

  it('are the ones the table of "Verify your deployment" in docs/deploy.md lists', () => {
    const deploy = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    const section = deploy.slice(
      deploy.indexOf('## Verify your deployment'),
      deploy.indexOf('1. **Find the outputs.**'),
    );
    const documented = [...section.matchAll(/^\| `(\w+)` +\|/gm)].map((match) => match[1]);
    const { template } = synth({ outputs: true, dashboard: true }, (stack) => ({
      alarmAction: new sns.Topic(stack, 'Alarms', { enforceSSL: true }),
    }));
    const made = Object.keys(template.findOutputs('*')).map((key) => key.replace(/^Mail/, ''));
    expect(documented.sort()).toEqual(made.sort());
  });
});
