/** The props of the MailboxIngestion construct, and the checks that reject contradictory combinations. */
import type { Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { SQS_MAX_BATCH_ENTRIES } from '../lib/aws-limits.ts';
import type { MailboxLimits } from '../lib/config/types.ts';
import type { ConfigLocation } from './config-location.ts';
import type { DashboardOptions } from './dashboard.ts';

/** One mailbox entry as written in the config file (see schema/config.schema.json). */
export type MailboxEntry = Readonly<Record<string, unknown>>;

/** Moving stored messages to a colder storage class after a while. */
export interface ArchiveRule {
  readonly storageClass: s3.StorageClass;
  readonly after: Duration;
}

/** The optional parse stage (infra/parse-stage.ts, docs/parsed-mail.md). */
export interface ParsedMailOptions {
  /**
   * The mailboxes whose messages are parsed, by id.
   * @default - every mailbox
   */
  readonly mailboxIds?: readonly string[];
  /**
   * Memory of the parse function, in MB; at most the poll function's.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Timeout of the parse function.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
}

export interface MailboxIngestionProps {
  /**
   * The mailboxes, as the `mailboxes` array of the config file. Validated at synth time: a bad entry fails
   * synth naming the mailbox and the field. Passwords must be `{ "secretId": ... }`. Stored in an SSM
   * parameter (at most 8 KB; use `configLocation` with S3 for longer lists).
   * Exactly one of `mailboxes` and `configLocation` is required.
   * @default - none
   */
  readonly mailboxes?: readonly MailboxEntry[];
  /**
   * Limits for every inline mailbox that does not set its own (the config file's `defaults.limits`).
   * Size them so one run fits `pollTimeout`.
   * @default - the config defaults (lib/config/load-config.ts DEFAULT_LIMITS)
   */
  readonly defaultLimits?: Partial<MailboxLimits>;
  /**
   * Where the dispatch function reads the config at run time, for a list managed outside this stack.
   * Requires `secretArns`, since the secrets cannot be read from the config at synth time.
   * @default - none
   */
  readonly configLocation?: ConfigLocation;
  /**
   * Secrets the poll function may read, in addition to those named by the inline `mailboxes`.
   * @default - only the secrets named in `mailboxes`
   */
  readonly secretArns?: readonly string[];
  /**
   * How often every mailbox is polled (an EventBridge Scheduler rate, whole minutes).
   * @default Duration.minutes(5)
   */
  readonly schedule?: Duration;
  /**
   * An existing bucket for the messages. Cannot be combined with `bucketProps`, `versioned` or `archive`.
   * @default - a new private, encrypted, TLS-only bucket
   */
  readonly bucket?: s3.IBucket;
  /**
   * Overrides for the new bucket. Public access blocking, TLS enforcement and bucket-owner object
   * ownership are always applied.
   * @default - see infra/defaults.ts
   */
  readonly bucketProps?: s3.BucketProps;
  /**
   * Keep every version of every object in the new bucket. The poll role cannot overwrite a stored message
   * either way (the bucket policy denies it any write onto a final key without If-None-Match); versioning
   * also keeps what anyone else might write over one. Pass false to keep one version per key only. S3
   * cannot turn versioning off once it was on (only suspend it): an existing deployment that wants to stay
   * unversioned must pass false before it deploys this default.
   * @default true
   */
  readonly versioned?: boolean;
  /**
   * Move stored messages to a colder storage class after a while (new bucket only).
   * @default - messages stay in S3 Standard
   */
  readonly archive?: ArchiveRule;
  /**
   * Prefix of every object key. The poll function may write below it and nowhere else.
   * @default 'mail/'
   */
  readonly keyPrefix?: string;
  /**
   * An existing queue for the message notifications. Cannot be combined with `notificationQueueProps`.
   * @default - a new encrypted standard queue with a dead-letter queue
   */
  readonly notificationQueue?: sqs.IQueue;
  /**
   * Overrides for the new notification queue, e.g. `{ fifo: true }` (its dead-letter queue follows).
   * @default - see infra/defaults.ts
   */
  readonly notificationQueueProps?: sqs.QueueProps;
  /**
   * An EventBridge bus each notification is also put on as an event (`source` "mailbox-poller",
   * `detail-type` "Email Received", `detail` the notification), so rules route the messages to any number
   * of targets (docs/consume-events.md). The poll function may put events on this bus only. With the queue
   * too, a message is deleted from its server only once both took its notification.
   * @default - none: notifications go to the queue only
   */
  readonly eventBus?: events.IEventBus;
  /**
   * Notify through the queue. Pass false, with an `eventBus`, for the bus alone: no notification queue and
   * no notification dead-letter queue are created, the poll function gets no SQS send grant, and the
   * `notificationQueue` member throws.
   * @default true
   */
  readonly notificationQueueEnabled?: boolean;
  /**
   * Memory of the poll function, in MiB.
   * @default 512
   */
  readonly pollMemorySize?: number;
  /**
   * Timeout of the poll function; the poll stops starting new work 10 s before it.
   * @default Duration.minutes(5)
   */
  readonly pollTimeout?: Duration;
  /**
   * Most poll invocations at the same time (SQS event source maxConcurrency, 2..1000). Mailboxes polled at
   * once are at most maxConcurrency × pollBatchSize.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Poll jobs one invocation takes (SQS event source batchSize, 1..10 on a FIFO queue). The mailboxes of
   * one batch are polled concurrently, one poll per mailbox; a failing one is retried alone. Most polls
   * find an empty mailbox, and a batch shares one invocation's start and metrics flush among them. Each
   * mailbox polled at once may hold its in-flight budget in memory: size pollMemorySize for the batch.
   * @default 10
   */
  readonly pollBatchSize?: number;
  /**
   * Publish the poll metrics per MailboxId as well as per Service: for small fleets that want a graph per
   * mailbox. Each mailbox adds 7 CloudWatch custom metrics at $0.30 each a month (us-east-1, first 10,000
   * metrics): $2.10 a mailbox, $210 a month for 100 mailboxes, $9,001 for 10,000 (docs/deploy.md, "Scale and
   * cost"). Without them nothing is lost for operations: the alarms use the Service metrics, the
   * MailboxHealth metric counts mailboxes per health state, and the dashboard's "Failing mailboxes" widget
   * names them from the poll log lines (Contributor Insights); the per-mailbox widgets appear only with
   * this on.
   * @default false
   */
  readonly perMailboxMetrics?: boolean;
  /**
   * Receives after which a failed poll job moves to the job dead-letter queue.
   * @default 5
   */
  readonly jobMaxReceiveCount?: number;
  /**
   * A customer-managed key for the bucket and the queues this construct creates.
   * @default - S3-managed and SQS-managed encryption
   */
  readonly kmsKey?: kms.IKey;
  /**
   * Where the alarms send notifications.
   * @default - alarms without actions
   */
  readonly alarmAction?: sns.ITopic;
  /**
   * PollFailures (all mailboxes) within 15 minutes that raise the poll failure alarm.
   * @default 5
   */
  readonly pollFailureAlarmThreshold?: number;
  /**
   * Age of the oldest waiting poll job that raises the backlog alarm.
   * @default - 3 schedule periods, at least 15 minutes
   */
  readonly oldestJobAgeAlarmThreshold?: Duration;
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudWatch namespace of the poll metrics.
   * @default 'MailboxPoller'
   */
  readonly metricsNamespace?: string;
  /**
   * The Service dimension of the metrics and the service key of the logs.
   * @default - a name unique to this construct in the app
   */
  readonly serviceName?: string;
  /**
   * A CloudWatch dashboard of this ingestion: messages and bytes ingested, failures by reason and by
   * mailbox, uncommitted messages, job backlog and job DLQ, poll duration against the timeout. `true`
   * for one with a generated name, or its options.
   * @default false
   */
  readonly dashboard?: boolean | DashboardOptions;
  /**
   * Stack outputs for what a person needs after `cdk deploy` (docs/deploy.md, "Verify your deployment"):
   * BucketName, NotificationQueueUrl, NotificationQueueArn, JobDeadLetterQueueUrl, PollFunctionName,
   * DispatchFunctionName, AlarmTopicArn (with `alarmAction`) and DashboardUrl (with `dashboard`), each
   * key prefixed with this construct's id (`Mail` → `MailBucketName`; infra/outputs.ts).
   * @default false
   */
  readonly outputs?: boolean;
  /**
   * Parsed messages (docs/parsed-mail.md): a stage of its own that gives each stored message a JSON
   * document (headers, addresses, text and HTML, parts as objects) beside the raw object and an
   * `Email Parsed` event on `parsedQueue`. `true` for every mailbox, or the options.
   * @default - off: no parse stage
   */
  readonly parsedMail?: boolean | ParsedMailOptions;
}

/** Throws on contradictory props, naming them; every message starts with the construct name. */
export function checkProps(props: MailboxIngestionProps): void {
  const problems: string[] = [];
  const both = (a: keyof MailboxIngestionProps, b: keyof MailboxIngestionProps) => {
    if (props[a] !== undefined && props[b] !== undefined) problems.push(`pass either ${a} or ${b}, not both`);
  };
  both('mailboxes', 'configLocation');
  both('defaultLimits', 'configLocation');
  both('bucket', 'bucketProps');
  both('bucket', 'versioned');
  both('bucket', 'archive');
  both('notificationQueue', 'notificationQueueProps');
  if (props.notificationQueueEnabled === false) {
    if (props.eventBus === undefined) {
      problems.push('notificationQueueEnabled: false needs an eventBus: the notifications must go somewhere');
    }
    for (const queueProp of ['notificationQueue', 'notificationQueueProps'] as const) {
      if (props[queueProp] !== undefined)
        problems.push(`pass either ${queueProp} or notificationQueueEnabled: false`);
    }
  }
  if (props.mailboxes === undefined && props.configLocation === undefined) {
    problems.push('pass the mailboxes inline (mailboxes) or where to read them (configLocation)');
  }
  if (props.configLocation !== undefined && props.secretArns === undefined) {
    problems.push('configLocation needs secretArns: the secrets the poll function may read');
  }
  if (props.schedule !== undefined && props.schedule.toSeconds() % 60 !== 0) {
    problems.push(`schedule must be whole minutes, got ${props.schedule.toHumanString()}`);
  }
  const batch = props.pollBatchSize;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > SQS_MAX_BATCH_ENTRIES)) {
    // A FIFO queue's event source takes at most 10 records per invocation.
    problems.push(`pollBatchSize must be a whole number from 1 to ${SQS_MAX_BATCH_ENTRIES}, got ${batch}`);
  }
  if (problems.length > 0) throw new Error(`MailboxIngestion: ${problems.join('; ')}`);
}
