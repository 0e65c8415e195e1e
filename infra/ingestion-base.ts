/**
 * The grants and metrics of a MailboxIngestion, kept apart the way the CDK keeps its L2s' `grant*()` and
 * `metric*()` members in a base class (QueueBase, BucketBase): they need only the resources and names the
 * construct exposes, not how it builds them.
 */
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { HealthState } from '../lib/health/states.ts';
import { type DropReason, METRIC_DIMENSIONS, METRIC_NAMES } from '../lib/lambda/metric-names.ts';
import { eventBusMetric } from './event-bus.ts';
import { grantReadMessages } from './grants.ts';
import { pollMetric, reasonDimension } from './ingestion-metrics.ts';

export abstract class MailboxIngestionBase extends Construct {
  abstract readonly bucket: s3.IBucket;
  abstract readonly keyPrefix: string;
  abstract readonly notificationQueue: sqs.IQueue;
  abstract readonly jobQueue: sqs.IQueue;
  /** The bus the notifications are put on as events, if any. */
  abstract readonly eventBus: events.IEventBus | undefined;
  /** The CloudWatch namespace of the poll metrics. */
  abstract readonly metricsNamespace: string;
  /** The value of the `Service` dimension of the poll metrics (and the service key of the logs). */
  abstract readonly serviceName: string;

  /**
   * Lets `grantee` consume the message notifications: receive, delete, change visibility (and read the
   * queue's attributes), plus kms:Decrypt when the queue has a customer-managed key. Throws with
   * `notificationQueueEnabled: false` (no queue: consume the bus with a rule, docs/consume-events.md).
   */
  grantConsumeNotifications(grantee: iam.IGrantable): iam.Grant {
    return this.notificationQueue.grantConsumeMessages(grantee);
  }

  /**
   * Lets `grantee` read the stored messages: s3:GetObject under the key prefix, plus kms:Decrypt when the
   * bucket has a customer-managed key. No list, write or delete.
   */
  grantReadMessages(grantee: iam.IGrantable): iam.Grant {
    return grantReadMessages(grantee, this.bucket, this.keyPrefix);
  }

  /**
   * Messages retrieved from the POP3 servers (MessagesRetrieved), all mailboxes; those not committed are
   * counted again by `metricUncommittedMessages` and taken again next run.
   * @default - sum over 5 minutes
   */
  metricMessagesIngested(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.messagesRetrieved, 'Sum', {}, props);
  }

  /**
   * Bytes of the messages retrieved (BytesRetrieved), all mailboxes.
   * @default - sum over 5 minutes
   */
  metricBytesIngested(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.bytesRetrieved, 'Sum', {}, props);
  }

  /**
   * Poll runs that left work behind (PollFailures), for one failure `reason` (e.g. 'auth', 'IN-USE',
   * 'network', 'config-unavailable'; see docs/deploy.md) or, without one, for every reason.
   * @default - sum over 5 minutes
   */
  metricPollFailures(reason?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.pollFailures, 'Sum', reasonDimension(reason), props);
  }

  /**
   * Retrieved messages a run could not commit (UncommittedMessages): still on the server.
   * @default - maximum over 5 minutes
   */
  metricUncommittedMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.uncommittedMessages, 'Maximum', {}, props);
  }

  /**
   * Poll jobs deleted unpolled (DroppedJobs): unreadable, or naming no deployed mailbox.
   * @default - sum over 5 minutes
   */
  metricDroppedJobs(reason?: DropReason, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.droppedJobs, 'Sum', reasonDimension(reason), props);
  }

  /**
   * Mailbox runs that ended in one health `state` (MailboxHealth, dimension State): 1 per mailbox per
   * run, so the Sum over one schedule period is about the number of mailboxes in that state (a retried run
   * counts again). 'needs-attention' counts the mailboxes a person must look at.
   * @default - sum over 5 minutes
   */
  metricMailboxHealth(state: HealthState, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.mailboxHealth, 'Sum', { [METRIC_DIMENSIONS.state]: state }, props);
  }

  /**
   * How long one poll run took (PollDuration, milliseconds).
   * @default - maximum over 5 minutes
   */
  metricPollDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return pollMetric(this, METRIC_NAMES.pollDuration, 'Maximum', {}, props);
  }

  /**
   * Events on the notification bus that matched a rule (AWS/Events MatchedEvents of the bus): each message
   * is one "Email Received" event, so a flat line while MessagesIngested rises means no rule routes them.
   * Throws without an `eventBus`.
   * @default - sum over 5 minutes
   */
  metricEventsMatched(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return eventBusMetric(this.#requireEventBus(), 'MatchedEvents', 'Sum', props);
  }

  #requireEventBus(): events.IEventBus {
    if (this.eventBus === undefined) throw new Error('MailboxIngestion: no eventBus was given');
    return this.eventBus;
  }

  /**
   * Age of the oldest poll job waiting in the job queue (ApproximateAgeOfOldestMessage, seconds).
   * @default - maximum over 5 minutes
   */
  metricOldestJobAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.jobQueue.metricApproximateAgeOfOldestMessage(props);
  }
}
