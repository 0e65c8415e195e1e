/**
 * The alarms of a MailboxIngestion: anything that means mail is waiting for a person. Poll metrics come
 * from the EMF documents of lib/lambda/metrics.ts, watched at the Service level (all mailboxes).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC_NAMES } from '../lib/lambda/metric-names.ts';

export interface IngestionAlarmsProps {
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly jobQueue: sqs.IQueue;
  readonly jobDeadLetterQueue: sqs.IQueue;
  readonly notificationDeadLetterQueue: sqs.IQueue | undefined;
  readonly dispatchFunction: lambda.IFunction;
  readonly schedule: Duration;
  readonly oldestJobAgeThreshold: Duration;
  readonly pollFailureThreshold: number;
  readonly pollFailurePeriod: Duration;
  /** Consecutive alarm periods with uncommitted messages that raise the UncommittedMessages alarm. */
  readonly uncommittedPeriods: number;
  readonly alarmAction: sns.ITopic | undefined;
  /** The metric of the mailboxes a person must look at (MailboxHealth, State = needs-attention). */
  readonly needsAttention: cloudwatch.Metric;
  /** Its window: at least one whole schedule cycle (defaults.ts needsAttentionAlarmPeriod). */
  readonly needsAttentionPeriod: Duration;
  /** The Contributor Insights rule that names the failing mailboxes (fleet-health.ts). */
  readonly failingMailboxesRuleName: string;
}

/** Dead-letter queues are checked every 5 minutes: one message there is already worth a look. */
const QUEUE_ALARM_PERIOD = Duration.minutes(5);

export class IngestionAlarms extends Construct {
  readonly jobDeadLetterQueueNotEmpty: cloudwatch.Alarm;
  /** Absent when the notification queue was passed in (its DLQ is not known here). */
  readonly notificationDeadLetterQueueNotEmpty: cloudwatch.Alarm | undefined;
  readonly authFailures: cloudwatch.Alarm;
  /** An OAuth2 grant was revoked or never consented (reason auth-revoked). */
  readonly authRevoked: cloudwatch.Alarm;
  readonly pollFailures: cloudwatch.Alarm;
  readonly oldestJobAge: cloudwatch.Alarm;
  readonly dispatchErrors: cloudwatch.Alarm;
  readonly uncommittedMessages: cloudwatch.Alarm;
  readonly droppedJobs: cloudwatch.Alarm;
  /**
   * At least one mailbox needs a person (health state needs-attention: credentials refused, a
   * configuration mistake that repeats): the one alarm a fleet needs, without a metric per mailbox.
   */
  readonly mailboxesNeedingAttention: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestionAlarmsProps) {
    super(scope, id);
    const service = { Service: props.serviceName };
    // Poll metrics arrive once per schedule slot, so a shorter period would see gaps as "no data".
    const pollPeriod = Duration.seconds(Math.max(QUEUE_ALARM_PERIOD.toSeconds(), props.schedule.toSeconds()));

    this.jobDeadLetterQueueNotEmpty = this.#notEmpty(
      'JobDeadLetterQueueNotEmpty',
      props.jobDeadLetterQueue,
      'poll jobs failed permanently',
    );
    this.notificationDeadLetterQueueNotEmpty = props.notificationDeadLetterQueue
      ? this.#notEmpty(
          'NotificationDeadLetterQueueNotEmpty',
          props.notificationDeadLetterQueue,
          'notifications were not consumed',
        )
      : undefined;

    this.authFailures = new cloudwatch.Alarm(this, 'AuthFailures', {
      alarmDescription: 'A POP3 server refused the credentials of a mailbox: check its secret.',
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: METRIC_NAMES.authFailures,
        dimensionsMap: service,
        statistic: cloudwatch.Stats.SUM,
        period: pollPeriod,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.authRevoked = new cloudwatch.Alarm(this, 'AuthRevoked', {
      alarmDescription:
        'The OAuth2 token endpoint refused a mailbox grant for good (revoked refresh token, wrong client secret, missing consent): see docs/oauth2.md.',
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: METRIC_NAMES.authRevoked,
        dimensionsMap: service,
        statistic: cloudwatch.Stats.SUM,
        period: pollPeriod,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.pollFailures = new cloudwatch.Alarm(this, 'PollFailures', {
      alarmDescription: `At least ${props.pollFailureThreshold} polls did not finish within ${props.pollFailurePeriod.toHumanString()}.`,
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: METRIC_NAMES.pollFailures,
        dimensionsMap: service,
        statistic: cloudwatch.Stats.SUM,
        period: props.pollFailurePeriod,
      }),
      threshold: props.pollFailureThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.oldestJobAge = new cloudwatch.Alarm(this, 'OldestJobAge', {
      alarmDescription: `A poll job waited longer than ${props.oldestJobAgeThreshold.toHumanString()}: polling is falling behind or stuck.`,
      metric: props.jobQueue.metricApproximateAgeOfOldestMessage({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: QUEUE_ALARM_PERIOD,
      }),
      threshold: props.oldestJobAgeThreshold.toSeconds(),
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A config the dispatch function rejects stops polling of every mailbox: alarm on the first error.
    this.dispatchErrors = new cloudwatch.Alarm(this, 'DispatchErrors', {
      alarmDescription: 'Dispatch failed (invalid config or SQS trouble): no mailbox is being polled.',
      metric: props.dispatchFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: pollPeriod }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // A message that can never be committed (its store or notification keeps failing) stays on the server
    // and comes back every run: a retry usually clears it, so only a streak of periods raises the alarm.
    this.uncommittedMessages = new cloudwatch.Alarm(this, 'UncommittedMessages', {
      alarmDescription:
        `Retrieved messages could not be committed (stored and notified) in ${props.uncommittedPeriods} ` +
        'consecutive periods: they stay on the POP3 server; check the poll logs for store-failed or notify-failed.',
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: METRIC_NAMES.uncommittedMessages,
        dimensionsMap: service,
        statistic: cloudwatch.Stats.MAXIMUM,
        period: pollPeriod,
      }),
      threshold: 0,
      evaluationPeriods: props.uncommittedPeriods,
      datapointsToAlarm: props.uncommittedPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // The dispatcher never sends such a job, except for a mailbox removed from the config between
    // dispatch and poll: anything else was sent by someone else, or by an older version.
    this.droppedJobs = new cloudwatch.Alarm(this, 'DroppedJobs', {
      alarmDescription:
        'Poll jobs were dropped unpolled (unreadable, or naming no deployed mailbox): see the "job dropped" ' +
        'log lines; jobs not sent by the dispatcher mean someone can write to the job queue.',
      metric: new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName: METRIC_NAMES.droppedJobs,
        dimensionsMap: service,
        statistic: cloudwatch.Stats.SUM,
        period: pollPeriod,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Every needs-attention mailbox reports once per cycle, and keeps reporting while its circuit breaker
    // holds it back: the alarm stays up until a person fixed the cause, and clears by itself after that.
    this.mailboxesNeedingAttention = new cloudwatch.Alarm(this, 'MailboxesNeedingAttention', {
      alarmDescription:
        'Mailboxes need a person (health state needs-attention: refused credentials, a wrong host, port or ' +
        `TLS mode). CloudWatch Contributor Insights rule ${props.failingMailboxesRuleName} (and the ` +
        'dashboard\'s "Failing mailboxes") names them with the reason; fix the secret or the config.',
      metric: props.needsAttention.with({
        statistic: cloudwatch.Stats.SUM,
        period: props.needsAttentionPeriod,
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    if (props.alarmAction) {
      const action = new actions.SnsAction(props.alarmAction);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }

  /** Every alarm this construct created. */
  get all(): cloudwatch.Alarm[] {
    return [
      this.jobDeadLetterQueueNotEmpty,
      ...(this.notificationDeadLetterQueueNotEmpty ? [this.notificationDeadLetterQueueNotEmpty] : []),
      this.authFailures,
      this.authRevoked,
      this.pollFailures,
      this.oldestJobAge,
      this.dispatchErrors,
      this.uncommittedMessages,
      this.droppedJobs,
      this.mailboxesNeedingAttention,
    ];
  }

  #notEmpty(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription: `Messages in a dead-letter queue: ${what}.`,
      metric: queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: QUEUE_ALARM_PERIOD,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
