/** The optional dashboard of MailboxIngestion: off by default, its widgets and what each one graphs. */
import { type CfnElement, Duration } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synth } from './synth-helpers.ts';

interface Widget {
  type: string;
  properties: {
    title: string;
    metrics?: unknown[][];
    insightRule?: { ruleName: string; maxContributorCount: number; orderBy: string };
    stacked?: boolean;
    annotations?: { horizontal?: { value: number; label: string }[] };
    period?: number;
  };
}

/** The dashboard body as JSON, each CloudFormation reference in it replaced by `<ref>`. */
function widgetsOf(template: Template): Widget[] {
  const [dashboard, ...more] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(more).toEqual([]);
  const body = dashboard!['Properties'].DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<ref>')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

function widget(widgets: Widget[], title: string): Widget {
  const found = widgets.find((w) => w.properties.title === title);
  expect(found, title).toBeDefined();
  return found!;
}

/** Every metric name or SEARCH expression a widget graphs, as one string. */
const graphed = (w: Widget) => JSON.stringify(w.properties.metrics);

describe('MailboxIngestion dashboard', () => {
  it('is not created by default', () => {
    const { template, ingestion } = synth();
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(ingestion.dashboard).toBeUndefined();
    expect(ingestion.dashboardUrl).toBeUndefined();
  });

  it('takes a name', () => {
    const { template, ingestion, stack } = synth({ dashboard: { dashboardName: 'mail-intake' } });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'mail-intake' });
    const dashboardRef = { Ref: stack.getLogicalId(ingestion.dashboard!.node.defaultChild as CfnElement) };
    expect(stack.resolve(ingestion.dashboardUrl)).toEqual({
      'Fn::Join': [
        '',
        [
          'https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=',
          dashboardRef,
        ],
      ],
    });
  });

  const { template } = synth({
    dashboard: true,
    serviceName: 'intake',
    pollTimeout: Duration.minutes(4),
    perMailboxMetrics: true,
  });
  const widgets = widgetsOf(template);

  it('graphs messages and bytes ingested, all mailboxes and by mailbox', () => {
    expect(graphed(widget(widgets, 'Messages ingested'))).toContain(
      '"MailboxPoller","MessagesRetrieved","Service","intake"',
    );
    expect(graphed(widget(widgets, 'Bytes ingested'))).toContain('"BytesRetrieved","Service","intake"');
    expect(graphed(widget(widgets, 'Messages ingested by mailbox'))).toContain(
      `SEARCH('{MailboxPoller,Service,MailboxId} MetricName=\\"MessagesRetrieved\\" Service=\\"intake\\"', 'Sum', 300)`,
    );
  });

  it('graphs failures by reason and by mailbox, and dropped jobs, whatever reasons occur', () => {
    expect(graphed(widget(widgets, 'Poll failures by reason'))).toContain(
      `SEARCH('{MailboxPoller,Service,Reason} MetricName=\\"PollFailures\\" Service=\\"intake\\"', 'Sum', 300)`,
    );
    expect(graphed(widget(widgets, 'Poll failures by mailbox and reason'))).toContain(
      `{MailboxPoller,Service,MailboxId,Reason} MetricName=\\"PollFailures\\"`,
    );
    expect(graphed(widget(widgets, 'Dropped jobs by reason'))).toContain(
      `{MailboxPoller,Service,Reason} MetricName=\\"DroppedJobs\\"`,
    );
  });

  it('graphs uncommitted messages, the job backlog and the job dead-letter queue', () => {
    expect(graphed(widget(widgets, 'Uncommitted messages (still on the server)'))).toContain(
      '"UncommittedMessages","Service","intake"',
    );
    const jobs = graphed(widget(widgets, 'Poll jobs: oldest waiting, and dead-lettered'));
    expect(jobs).toContain('"AWS/SQS","ApproximateAgeOfOldestMessage"');
    expect(jobs).toContain('"AWS/SQS","ApproximateNumberOfMessagesVisible"');
  });

  it('draws the poll duration against a line at the function timeout', () => {
    const duration = widget(widgets, 'Poll duration vs timeout (ms)');
    expect(graphed(duration)).toContain('"PollDuration","Service","intake"');
    expect(graphed(duration)).toContain('"AWS/Lambda","Duration"');
    expect(duration.properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: 240_000, label: 'function timeout (4 minutes)' }),
    ]);
  });

  it('has no widget without a metric or a Contributor Insights rule', () => {
    expect(widgets).toHaveLength(11);
    for (const w of widgets) {
      const graphs = (w.properties.metrics?.length ?? 0) + (w.properties.insightRule ? 1 : 0);
      expect(graphs, w.properties.title).toBeGreaterThan(0);
    }
  });

  it('leaves out the per-mailbox widgets without per-mailbox metrics (the default): nothing to graph', () => {
    const titles = widgetsOf(synth({ dashboard: true }).template).map((w) => w.properties.title);
    expect(titles).not.toContain('Messages ingested by mailbox');
    expect(titles).not.toContain('Poll failures by mailbox and reason');
    expect(titles).toContain('Failing mailboxes: runs not ok, by mailbox and reason (top 10)');
    expect(titles).toHaveLength(9);
  });
});
