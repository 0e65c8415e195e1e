/**
 * A fleet's health without a metric per mailbox: the one alarm "mailboxes needing a person > 0" on
 * MailboxHealth, the Contributor Insights rules that name the failing mailboxes from the poll log lines,
 * and the dashboard widgets that show both.
 */
import { Duration } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { synth } from './synth-helpers.ts';

type Template = ReturnType<typeof synth>['template'];

function needsAttentionAlarm(template: Template) {
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a['Properties']);
  const found = alarms.filter((a) => a.MetricName === 'MailboxHealth');
  expect(found).toHaveLength(1);
  return found[0];
}

describe('the alarm "mailboxes needing a person > 0"', () => {
  it('sums MailboxHealth of State needs-attention over two schedule periods, missing data not breaching', () => {
    const { template, ingestion } = synth({ serviceName: 'intake' });
    expect(needsAttentionAlarm(template)).toEqual({
      AlarmDescription: expect.stringContaining('Mailboxes need a person'),
      Namespace: 'MailboxPoller',
      MetricName: 'MailboxHealth',
      Dimensions: [
        { Name: 'Service', Value: 'intake' },
        { Name: 'State', Value: 'needs-attention' },
      ],
      Statistic: 'Sum',
      Period: 600,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(ingestion.alarms.all).toContain(ingestion.alarms.mailboxesNeedingAttention);
  });

  it.each([
    [Duration.minutes(1), 120],
    [Duration.minutes(15), 1800],
    [Duration.hours(1), 7200],
    // CloudWatch allows at most one day of evaluation window.
    [Duration.hours(13), 86_400],
  ])('derives its period from the schedule: every %s gives %i s', (schedule, period) => {
    expect(needsAttentionAlarm(synth({ schedule }).template).Period).toBe(period);
  });

  it('notifies the alarm topic like every other alarm', () => {
    const { template } = synth({}, (s) => ({ alarmAction: new sns.Topic(s, 'Alarms') }));
    const [action] = needsAttentionAlarm(template).AlarmActions;
    expect(action.Ref).toMatch(/^Alarms/);
  });

  it('is what metricMailboxHealth gives for needs-attention', () => {
    const { ingestion, stack } = synth({ serviceName: 'intake' });
    const metric = ingestion.metricMailboxHealth('needs-attention');
    expect(metric.metricName).toBe('MailboxHealth');
    expect(stack.resolve(metric.dimensions)).toEqual({ Service: 'intake', State: 'needs-attention' });
    expect(metric.statistic).toBe('Sum');
  });
});
