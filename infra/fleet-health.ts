/**
 * Which mailboxes need a person, for a fleet of any size, without a CloudWatch metric per mailbox:
 *
 * - How many: MailboxHealth (1 per mailbox run, dimension State, lib/health/states.ts) summed per state;
 *   the alarm on needs-attention is in alarms.ts.
 * - Which: a Contributor Insights rule over the poll function's own log lines. Each run ends with one JSON
 *   line (`poll finished` / `poll incomplete, will retry` / `poll failed`, lib/lambda/poll-job.ts) carrying
 *   `mailboxId`, `status` and `reason`; the rule counts those not `ok` by mailbox and reason. A rule costs
 *   a flat monthly fee plus a fee per million matched log events, whatever the number of mailboxes, where
 *   per-mailbox metrics cost 7 metrics × $0.30 a month for each mailbox.
 *
 * Rule syntax: "Contributor Insights rule syntax" in the CloudWatch user guide (Schema CloudWatchLogRule
 * version 1, LogFormat JSON, Keys and Filters as JSON paths; filters all apply; AggregateOn Count).
 */
import { type Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HEALTH_STATES, type HealthState } from '../lib/health/states.ts';

/** The last line of every poll run (lib/lambda/poll-job.ts): one per mailbox run, whatever its outcome. */
export const RUN_END_MESSAGES = ['poll finished', 'poll incomplete, will retry', 'poll failed'] as const;

/** The keys of a failing run, as the poll function logs them: the mailbox id and why it did not end ok. */
export const FAILING_MAILBOX_KEYS = ['$.mailboxId', '$.reason'] as const;

/** CloudWatch allows at most 4 keys, 4 filters and 8,192 characters per rule; rule names up to 128. */
const RULE_NAME_MAX_LENGTH = 128;

/** Contributors a widget lists: the 10 worst are what a person works through first. */
const TOP_CONTRIBUTORS = 10;

export interface FleetHealthProps {
  /** The poll function's log group: the rule reads nothing else. */
  readonly pollLogGroup: logs.ILogGroup;
  /** MailboxHealth of one state (MailboxIngestionBase.metricMailboxHealth). */
  readonly healthMetric: (state: HealthState, props: cloudwatch.MetricOptions) => cloudwatch.IMetric;
}

export class FleetHealth extends Construct {
  /** Counts the runs that did not end ok, by mailbox id and reason: the failing mailboxes, worst first. */
  readonly failingMailboxesRule: cloudwatch.CfnInsightRule;
  readonly #healthMetric: FleetHealthProps['healthMetric'];

  constructor(scope: Construct, id: string, props: FleetHealthProps) {
    super(scope, id);
    this.#healthMetric = props.healthMetric;
    const body = {
      Schema: { Name: 'CloudWatchLogRule', Version: 1 },
      LogGroupNames: [props.pollLogGroup.logGroupName],
      LogFormat: 'JSON',
      Contribution: {
        Keys: [...FAILING_MAILBOX_KEYS],
        Filters: [
          // Only a run's last line: other lines of a run carry no status, and "job dropped" names a job.
          { Match: '$.message', In: [...RUN_END_MESSAGES] },
          { Match: '$.status', NotIn: ['ok'] },
        ],
      },
      AggregateOn: 'Count',
    };
    this.failingMailboxesRule = new cloudwatch.CfnInsightRule(this, 'FailingMailboxes', {
      // Rule names are unique per account and region: this one is derived from the construct path.
      ruleName: Names.uniqueResourceName(this, { maxLength: RULE_NAME_MAX_LENGTH, separator: '-' }),
      ruleState: 'ENABLED',
      ruleBody: Stack.of(this).toJsonString(body),
    });
  }

  /**
   * The dashboard row: mailbox runs per health state, and the failing mailboxes by reason (top 10). Each
   * graph at `period`, the poll metrics' period (one schedule period, at least 5 minutes).
   */
  widgets(period: Duration, size: { width: number; height: number }): cloudwatch.IWidget[] {
    const byState = HEALTH_STATES.map((state) =>
      this.#healthMetric(state, { period, statistic: cloudwatch.Stats.SUM, label: state }),
    );
    return [
      new cloudwatch.GraphWidget({
        title: 'Mailboxes by health state (runs per period)',
        left: byState,
        stacked: true,
        leftYAxis: { min: 0 },
        period,
        ...size,
      }),
      new ContributorsWidget({
        title: 'Failing mailboxes: runs not ok, by mailbox and reason (top 10)',
        ruleName: this.failingMailboxesRule.attrRuleName,
        region: Stack.of(this).region,
        period,
        ...size,
      }),
    ];
  }
}

interface ContributorsWidgetProps {
  readonly title: string;
  readonly ruleName: string;
  readonly region: string;
  readonly period: Duration;
  readonly width: number;
  readonly height: number;
}

/**
 * A Contributor Insights graph: a metric widget whose `insightRule` names the rule (the CloudWatch
 * dashboard body structure); the CDK has no class for it.
 */
class ContributorsWidget extends cloudwatch.ConcreteWidget {
  readonly #props: ContributorsWidgetProps;

  constructor(props: ContributorsWidgetProps) {
    super(props.width, props.height);
    this.#props = props;
  }

  toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.#props.title,
          region: this.#props.region,
          view: 'timeSeries',
          stacked: false,
          period: this.#props.period.toSeconds(),
          insightRule: {
            ruleName: this.#props.ruleName,
            maxContributorCount: TOP_CONTRIBUTORS,
            orderBy: 'Sum',
          },
          legend: { position: 'right' },
        },
      },
    ];
  }
}
