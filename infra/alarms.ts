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

/** A poll metric summed or maximised over all mailboxes (the Service dimension alone). */
function serviceMetric(
  props: Pick<IngestionAlarmsProps, 'metricsNamespace' | 'serviceName'>,
  metricName: string,
  statistic: string,
  period: Duration,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: props.metricsNamespace,
    metricName,
    dimensionsMap: { Service: props.serviceName },
    statistic,
    period,
  });
}

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

    this.authFailures = this.#alarm(
      'AuthFailures',
      'A POP3 server refused the credentials of a mailbox: check its secret.',
      serviceMetric(props, METRIC_NAMES.authFailures, cloudwatch.Stats.SUM, pollPeriod),
    );
    this.authRevoked = this.#alarm(
      'AuthRevoked',
      'The OAuth2 token endpoint refused a mailbox grant for good (revoked refresh token, wrong client secret, missing consent): see docs/oauth2.md.',
      serviceMetric(props, METRIC_NAMES.authRevoked, cloudwatch.Stats.SUM, pollPeriod),
    );
    this.pollFailures = this.#alarm(
      'PollFailures',
      `At least ${props.pollFailureThreshold} polls did not finish within ${props.pollFailurePeriod.toHumanString()}.`,
      serviceMetric(props, METRIC_NAMES.pollFailures, cloudwatch.Stats.SUM, props.pollFailurePeriod),
      { threshold: props.pollFailureThreshold },
    );
    this.oldestJobAge = this.#alarm(
      'OldestJobAge',
      `A poll job waited longer than ${props.oldestJobAgeThreshold.toHumanString()}: polling is falling behind or stuck.`,
      props.jobQueue.metricApproximateAgeOfOldestMessage({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: QUEUE_ALARM_PERIOD,
      }),
      { threshold: props.oldestJobAgeThreshold.toSeconds() },
    );

    // A config the dispatch function rejects stops polling of every mailbox: alarm on the first error.
    this.dispatchErrors = this.#alarm(
      'DispatchErrors',
      'Dispatch failed (invalid config or SQS trouble): no mailbox is being polled.',
      props.dispatchFunction.metricErrors({ statistic: cloudwatch.Stats.SUM, period: pollPeriod }),
    );
    // A message that can never be committed (its store or notification keeps failing) stays on the server
    // and comes back every run: a retry usually clears it, so only a streak of periods raises the alarm.
    this.uncommittedMessages = this.#alarm(
      'UncommittedMessages',
      `Retrieved messages could not be committed (stored and notified) in ${props.uncommittedPeriods} ` +
        'consecutive periods: they stay on the POP3 server; check the poll logs for store-failed or notify-failed.',
      serviceMetric(props, METRIC_NAMES.uncommittedMessages, cloudwatch.Stats.MAXIMUM, pollPeriod),
      { aboveZero: true, periods: props.uncommittedPeriods },
    );
    // The dispatcher never sends such a job, except for a mailbox removed from the config between
    // dispatch and poll: anything else was sent by someone else, or by an older version.
    this.droppedJobs = this.#alarm(
      'DroppedJobs',
      'Poll jobs were dropped unpolled (unreadable, or naming no deployed mailbox): see the "job dropped" ' +
        'log lines; jobs not sent by the dispatcher mean someone can write to the job queue.',
      serviceMetric(props, METRIC_NAMES.droppedJobs, cloudwatch.Stats.SUM, pollPeriod),
    );
    // Every needs-attention mailbox reports once per cycle, and keeps reporting while its circuit breaker
    // holds it back: the alarm stays up until a person fixed the cause, and clears by itself after that.
    this.mailboxesNeedingAttention = this.#alarm(
      'MailboxesNeedingAttention',
      'Mailboxes need a person (health state needs-attention: refused credentials, a wrong host, port or ' +
        `TLS mode). CloudWatch Contributor Insights rule ${props.failingMailboxesRuleName} (and the ` +
        'dashboard\'s "Failing mailboxes") names them with the reason; fix the secret or the config.',
      props.needsAttention.with({ statistic: cloudwatch.Stats.SUM, period: props.needsAttentionPeriod }),
      { aboveZero: true },
    );

    if (props.alarmAction) this.#notify(props.alarmAction);
  }

  /** Every alarm sends its state changes to the one topic. */
  #notify(topic: sns.ITopic): void {
    const action = new actions.SnsAction(topic);
    for (const alarm of this.all) alarm.addAlarmAction(action);
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
    return this.#alarm(
      id,
      `Messages in a dead-letter queue: ${what}.`,
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: QUEUE_ALARM_PERIOD,
      }),
    );
  }

  /**
   * The one shape of every alarm here: raised when the metric reaches the threshold (1 unless given), or
   * with `aboveZero` when it is above 0, in `periods` consecutive periods (1 unless given); missing data
   * is no trouble, since poll metrics exist only when a poll ran and queues report only when used.
   */
  #alarm(
    id: string,
    alarmDescription: string,
    metric: cloudwatch.IMetric,
    options: { readonly threshold?: number; readonly aboveZero?: boolean; readonly periods?: number } = {},
  ): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription,
      metric,
      threshold: options.aboveZero ? 0 : (options.threshold ?? 1),
      evaluationPeriods: options.periods ?? 1,
      ...(options.periods === undefined ? {} : { datapointsToAlarm: options.periods }),
      comparisonOperator: options.aboveZero
        ? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
