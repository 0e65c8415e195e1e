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
    const [rule] = Object.values(template.findResources('AWS::CloudWatch::InsightRule'));
    expect(needsAttentionAlarm(template)).toEqual({
      // It says where the names are: the Contributor Insights rule.
      AlarmDescription: expect.stringContaining(`Contributor Insights rule ${rule!['Properties'].RuleName} `),
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

/** The dashboard body as JSON, each CloudFormation reference in it replaced by `<ref>`. */
function dashboardWidgets(template: Template) {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard!['Properties'].DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  return (JSON.parse(text) as { widgets: { properties: Record<string, unknown> }[] }).widgets;
}

describe('the fleet row of the dashboard', () => {
  const { template } = synth({ dashboard: true, serviceName: 'intake', schedule: Duration.minutes(10) });
  const widgets = dashboardWidgets(template);
  const titled = (title: string) => widgets.find((w) => w.properties['title'] === title)?.properties;

  it('comes first: mailbox runs in each of the four health states, stacked, one schedule period each', () => {
    const byState = titled('Mailboxes by health state (runs per period)');
    expect(widgets[0]?.properties).toBe(byState);
    expect(byState).toMatchObject({ stacked: true, period: 600 });
    expect(byState!['metrics']).toEqual(
      ['needs-attention', 'retrying', 'paused', 'ok'].map((state) => [
        'MailboxPoller',
        'MailboxHealth',
        'Service',
        'intake',
        'State',
        state,
        { label: state, period: 600, stat: 'Sum' },
      ]),
    );
  });

  it('names the failing mailboxes from the Contributor Insights rule, top 10 by count', () => {
    const failing = titled('Failing mailboxes: runs not ok, by mailbox and reason (top 10)');
    expect(failing).toMatchObject({
      view: 'timeSeries',
      period: 600,
      region: 'eu-west-1',
      insightRule: { ruleName: '<ref>', maxContributorCount: 10, orderBy: 'Sum' },
    });
    const body = JSON.stringify(
      Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!['Properties'].DashboardBody,
    );
    const [ruleId] = Object.keys(template.findResources('AWS::CloudWatch::InsightRule'));
    expect(body).toContain(`{"Fn::GetAtt":["${ruleId}","RuleName"]}`);
  });
});
