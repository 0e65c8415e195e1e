/** The sample app's stack (infra/sample-stack.ts, what infra/app.ts deploys): its outputs and dashboard. */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { MailboxPollerStack, SAMPLE_MAILBOXES } from '../../infra/sample-stack.ts';

function synthSample(env?: { account: string; region: string }) {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MailboxPollerStack(app, 'MailboxPoller', { mailboxes: SAMPLE_MAILBOXES, env });
  return { app, stack, template: Template.fromStack(stack) };
}

/** `Ref` or `Fn::GetAtt` of the one resource of `type` whose logical id starts with `prefix`. */
function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

describe('sample app', () => {
  const { app, stack, template } = synthSample();

  it('outputs the bucket, the notification queue, the job DLQ, the alarm topic, the functions and the dashboard', () => {
    const bucket = logicalId(template, 'AWS::S3::Bucket', 'IngestionBucket');
    const notifications = logicalId(template, 'AWS::SQS::Queue', 'IngestionNotificationQueue');
    const jobDlq = logicalId(template, 'AWS::SQS::Queue', 'IngestionJobDeadLetterQueue');
    const outputs = template.findOutputs('*');
    expect(outputs['BucketName']?.['Value']).toEqual({ Ref: bucket });
    expect(outputs['NotificationQueueUrl']?.['Value']).toEqual({ Ref: notifications });
    expect(outputs['NotificationQueueArn']?.['Value']).toEqual({ 'Fn::GetAtt': [notifications, 'Arn'] });
    expect(outputs['JobDeadLetterQueueUrl']?.['Value']).toEqual({ Ref: jobDlq });
    expect(outputs['AlarmTopicArn']?.['Value']).toEqual({
      Ref: logicalId(template, 'AWS::SNS::Topic', 'Alarms'),
    });
    expect(outputs['PollFunctionName']?.['Value']).toEqual({
      Ref: logicalId(template, 'AWS::Lambda::Function', 'IngestionPollFunction'),
    });
    expect(outputs['DispatchFunctionName']?.['Value']).toEqual({
      Ref: logicalId(template, 'AWS::Lambda::Function', 'IngestionDispatchFunction'),
    });
    for (const output of Object.values(outputs)) expect(output['Description']).toEqual(expect.any(String));
  });

  it('points the dashboard URL at the dashboard in the region the stack is deployed to', () => {
    const dashboard = logicalId(template, 'AWS::CloudWatch::Dashboard', 'IngestionDashboard');
    const url = JSON.stringify(
      stack.resolve(template.findOutputs('DashboardUrl')['DashboardUrl']?.['Value']),
    );
    expect(url).toContain('.console.aws.amazon.com/cloudwatch/home?region=');
    expect(url).toContain('#dashboards:name=');
    expect(url).toContain(JSON.stringify({ Ref: dashboard }));
    // Environment-agnostic unless CDK_DEFAULT_REGION is set: the region is the deployment's, not a literal.
    expect(url).toContain(JSON.stringify({ Ref: 'AWS::Region' }));
  });

  it('uses the region it is given, and no other', () => {
    const { template: pinned } = synthSample({ account: '123456789012', region: 'eu-central-1' });
    const url = JSON.stringify(pinned.findOutputs('DashboardUrl')['DashboardUrl']?.['Value']);
    expect(url).toContain('https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1');
  });

  it('has no unacknowledged cdk-nag AwsSolutions finding', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});
