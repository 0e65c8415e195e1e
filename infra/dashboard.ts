/**
 * The optional CloudWatch dashboard of a MailboxIngestion: which mailboxes need a person (counts by health
 * state, the failing mailboxes: fleet-health.ts), is mail flowing (messages and bytes), what fails and why
 * (by reason; by mailbox with per-mailbox metrics), what is stuck (uncommitted messages, job backlog, job
 * DLQ), and how close a poll comes to its timeout.
 */
import { type Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_DIMENSIONS, METRIC_NAMES } from '../lib/lambda/metric-names.ts';
import type { FleetHealth } from './fleet-health.ts';
import { type PollMetricSource, pollMetric, pollMetricSearch } from './ingestion-metrics.ts';

/** Options of the dashboard (MailboxIngestionProps.dashboard). */
export interface DashboardOptions {
  /**
   * Name of the dashboard.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
}

export interface IngestionDashboardProps extends DashboardOptions {
  readonly metrics: PollMetricSource;
  readonly jobQueue: sqs.IQueue;
  readonly jobDeadLetterQueue: sqs.IQueue;
  readonly pollFunction: lambda.IFunction;
  readonly pollTimeout: Duration;
  /** The period of every graph; poll metrics arrive once per schedule slot. */
  readonly period: Duration;
  /** The fleet row: mailboxes by health state, and the failing mailboxes (Contributor Insights). */
  readonly fleetHealth?: FleetHealth;
  /** Whether the poll function publishes per MailboxId: the per-mailbox widgets only graph then. */
  readonly perMailboxMetrics?: boolean;
}

const WIDTH = 8;
const HEIGHT = 6;
const BY_REASON = `\${PROP('Dim.${METRIC_DIMENSIONS.reason}')}`;
const BY_MAILBOX = `\${PROP('Dim.${METRIC_DIMENSIONS.mailboxId}')}`;
const sum = cloudwatch.Stats.SUM;
const max = cloudwatch.Stats.MAXIMUM;

/** One graph of the dashboard's grid, over the dashboard's period. */
function graph(
  props: IngestionDashboardProps,
  title: string,
  left: cloudwatch.IMetric[],
  extra: Partial<cloudwatch.GraphWidgetProps> = {},
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title,
    left,
    width: WIDTH,
    height: HEIGHT,
    period: props.period,
    ...extra,
  });
}

/** Without per-mailbox metrics (the default) the SEARCH over MailboxId finds nothing: leave it out. */
function perMailbox<T>(props: IngestionDashboardProps, widget: () => T): T[] {
  return props.perMailboxMetrics === false ? [] : [widget()];
}

export class IngestionDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: IngestionDashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', { dashboardName: props.dashboardName });
    if (props.fleetHealth) {
      this.dashboard.addWidgets(...props.fleetHealth.widgets(props.period, { width: 12, height: HEIGHT }));
    }
    this.dashboard.addWidgets(...flowRow(props));
    this.dashboard.addWidgets(...failureRow(props));
    this.dashboard.addWidgets(...stuckRow(props));
  }

  /** The dashboard in the CloudWatch console of the stack's region. */
  get url(): string {
    const region = Stack.of(this).region;
    return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}

/** Is mail flowing: messages and bytes, and messages by mailbox. */
function flowRow(props: IngestionDashboardProps): cloudwatch.IWidget[] {
  const { metrics: source, period } = props;
  return [
    graph(props, 'Messages ingested', [
      pollMetric(source, METRIC_NAMES.messagesRetrieved, sum, {}, { label: 'all mailboxes', period }),
    ]),
    graph(props, 'Bytes ingested', [
      pollMetric(source, METRIC_NAMES.bytesRetrieved, sum, {}, { label: 'all mailboxes', period }),
    ]),
    ...perMailbox(props, () =>
      graph(props, 'Messages ingested by mailbox', [
        pollMetricSearch(source, METRIC_NAMES.messagesRetrieved, [METRIC_DIMENSIONS.mailboxId], sum, {
          label: BY_MAILBOX,
          periodSeconds: period.toSeconds(),
        }),
      ]),
    ),
  ];
}

/** What fails and why: poll failures by reason (and by mailbox), dropped jobs by reason. */
function failureRow(props: IngestionDashboardProps): cloudwatch.IWidget[] {
  const { metrics: source } = props;
  const periodSeconds = props.period.toSeconds();
  return [
    graph(props, 'Poll failures by reason', [
      pollMetricSearch(source, METRIC_NAMES.pollFailures, [METRIC_DIMENSIONS.reason], sum, {
        label: BY_REASON,
        periodSeconds,
      }),
    ]),
    ...perMailbox(props, () =>
      graph(props, 'Poll failures by mailbox and reason', [
        pollMetricSearch(
          source,
          METRIC_NAMES.pollFailures,
          [METRIC_DIMENSIONS.mailboxId, METRIC_DIMENSIONS.reason],
          sum,
          { label: `${BY_MAILBOX} ${BY_REASON}`, periodSeconds },
        ),
      ]),
    ),
    graph(props, 'Dropped jobs by reason', [
      pollMetricSearch(source, METRIC_NAMES.droppedJobs, [METRIC_DIMENSIONS.reason], sum, {
        label: BY_REASON,
        periodSeconds,
      }),
    ]),
  ];
}

/** What is stuck: uncommitted messages, the job backlog and DLQ, and polls close to their timeout. */
function stuckRow(props: IngestionDashboardProps): cloudwatch.IWidget[] {
  const { metrics: source, period } = props;
  return [
    graph(props, 'Uncommitted messages (still on the server)', [
      pollMetric(source, METRIC_NAMES.uncommittedMessages, max, {}, { label: 'most in one run', period }),
    ]),
    graph(
      props,
      'Poll jobs: oldest waiting, and dead-lettered',
      [
        props.jobQueue.metricApproximateAgeOfOldestMessage({
          statistic: max,
          period,
          label: 'oldest job (s)',
        }),
      ],
      {
        right: [
          props.jobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
            statistic: max,
            period,
            label: 'jobs in the DLQ',
          }),
        ],
      },
    ),
    graph(
      props,
      'Poll duration vs timeout (ms)',
      [
        pollMetric(source, METRIC_NAMES.pollDuration, max, {}, { label: 'longest poll run', period }),
        props.pollFunction.metricDuration({ statistic: max, period, label: 'longest invocation' }),
      ],
      {
        leftAnnotations: [
          {
            value: props.pollTimeout.toMilliseconds(),
            label: `function timeout (${props.pollTimeout.toHumanString()})`,
            color: cloudwatch.Color.RED,
          },
        ],
        leftYAxis: { min: 0 },
      },
    ),
  ];
}
