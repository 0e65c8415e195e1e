/**
 * MailboxIngestion: POP3 mailboxes drained into S3 (one object per message) and SQS (one notification per
 * message) on a schedule.
 *
 *   Scheduler ──every period──▶ dispatch λ ──one job per mailbox──▶ job queue (FIFO, group = mailbox)
 *                                                                       │ batch size 1
 *                                        bucket ◀── PutObject ── poll λ ┘── SendMessage ──▶ notification queue
 *                                                                       └── PutEvents ──▶ event bus (optional)
 *
 * A job names a mailbox and the config version; both functions read the mailbox settings from the
 * config location. The constructor is the list of what it deploys; each resource is built beside its
 * settings: the queues in queues.ts, the functions in functions.ts, the schedule in schedule-target.ts,
 * alarms in alarms.ts, the optional dashboard in dashboard.ts. Secure defaults live in defaults.ts, grants
 * in grants.ts, the job queue's and the bucket's resource policies in resource-policies.ts, cdk-nag
 * reasons in nag-suppressions.ts; the public grant and metric members in ingestion-base.ts.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { IngestionAlarms } from './alarms.ts';
import { ConfigLocation } from './config-location.ts';
import { IngestionDashboard } from './dashboard.ts';
import { DEFAULTS, defaultOldestJobAgeThreshold, needsAttentionAlarmPeriod } from './defaults.ts';
import { grantPutEvents } from './event-bus.ts';
import { FleetHealth } from './fleet-health.ts';
import { buildDispatchFunction, buildPollFunction, jobQueueSource } from './functions.ts';
import { grantMessageStore, grantSecretsRead, grantSecretsWrite, secretArnFor } from './grants.ts';
import { MailboxIngestionBase } from './ingestion-base.ts';
import { inlineConfig } from './inline-config.ts';
import { acknowledgeAcceptedFindings } from './nag-suppressions.ts';
import { addIngestionOutputs } from './outputs.ts';
import { ParseStage } from './parse-stage.ts';
import { checkProps, type MailboxIngestionProps } from './props.ts';
import { buildJobQueue, buildNotificationQueue } from './queues.ts';
import { allowOnlySender, denyOverwrites } from './resource-policies.ts';
import { bucketPropsWithDefaults } from './resources.ts';
import { buildSchedule } from './schedule-target.ts';

export class MailboxIngestion extends MailboxIngestionBase {
  readonly bucket: s3.IBucket;
  readonly keyPrefix: string;
  /** Absent without the `eventBus` prop. */
  readonly eventBus: events.IEventBus | undefined;
  /** Absent when `notificationQueue` was passed in, or with `notificationQueueEnabled: false`. */
  readonly notificationDeadLetterQueue: sqs.IQueue | undefined;
  readonly jobQueue: sqs.Queue;
  readonly jobDeadLetterQueue: sqs.Queue;
  readonly dispatchFunction: lambda.Function;
  readonly pollFunction: lambda.Function;
  readonly schedule: scheduler.Schedule;
  readonly alarms: IngestionAlarms;
  /** The Contributor Insights rule that names the failing mailboxes (and the dashboard widgets of the fleet). */
  readonly fleetHealth: FleetHealth;
  /** The secrets the poll function may read. */
  readonly secretArns: readonly string[];
  /** Where both functions read the config (the SSM parameter this construct wrote, for inline mailboxes). */
  readonly configLocation: ConfigLocation;
  /** The CloudWatch namespace of the poll metrics. */
  readonly metricsNamespace: string;
  /** The value of the `Service` dimension of the poll metrics (and the service key of the logs). */
  readonly serviceName: string;
  /** Absent unless the `dashboard` prop asks for it. */
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The dashboard in the CloudWatch console; absent with the dashboard. */
  readonly dashboardUrl: string | undefined;
  /** The parse stage (docs/parsed-mail.md); absent unless the `parsedMail` prop asks for it. */
  readonly parseStage: ParseStage | undefined;
  /** The `Email Parsed` events; absent without the parse stage. */
  readonly parsedQueue: sqs.IQueue | undefined;

  readonly #notificationQueue: sqs.IQueue | undefined;

  /** The queue of the message notifications; throws with `notificationQueueEnabled: false` (the bus alone). */
  get notificationQueue(): sqs.IQueue {
    if (this.#notificationQueue === undefined) {
      throw new Error(
        'MailboxIngestion: there is no notification queue (notificationQueueEnabled: false): the notifications go to eventBus alone',
      );
    }
    return this.#notificationQueue;
  }

  constructor(scope: Construct, id: string, props: MailboxIngestionProps) {
    super(scope, id);
    checkProps(props);
    const schedulePeriod = props.schedule ?? DEFAULTS.schedule;
    const pollTimeout = props.pollTimeout ?? DEFAULTS.pollTimeout;
    const jobMaxReceiveCount = props.jobMaxReceiveCount ?? DEFAULTS.jobMaxReceiveCount;
    this.serviceName = props.serviceName ?? `${Stack.of(this).stackName}-${this.node.id}`;
    this.metricsNamespace = props.metricsNamespace ?? DEFAULTS.metricsNamespace;
    this.keyPrefix = props.keyPrefix ?? DEFAULTS.keyPrefix;

    const inline =
      props.mailboxes === undefined
        ? undefined
        : inlineConfig(this, 'Config', props.mailboxes, props.defaultLimits);
    this.configLocation = inline ? ConfigLocation.fromParameter(inline.parameter) : props.configLocation!;
    this.secretArns = [
      ...new Set([
        ...(inline?.secretIds ?? []).map((secretId) => secretArnFor(this, secretId)),
        ...(props.secretArns ?? []),
      ]),
    ];

    this.bucket =
      props.bucket ?? new s3.Bucket(this, 'Bucket', bucketPropsWithDefaults(props, this.keyPrefix));

    this.eventBus = props.eventBus;
    const notifications =
      (props.notificationQueueEnabled ?? DEFAULTS.notificationQueueEnabled)
        ? buildNotificationQueue(this, props)
        : undefined;
    this.#notificationQueue = notifications?.queue;
    this.notificationDeadLetterQueue = notifications?.dlq;
    const jobs = buildJobQueue(this, {
      kmsKey: props.kmsKey,
      pollTimeout,
      maxReceiveCount: jobMaxReceiveCount,
    });
    this.jobQueue = jobs.queue;
    this.jobDeadLetterQueue = jobs.dlq;

    const logRetention = props.logRetention ?? DEFAULTS.logRetention;
    this.dispatchFunction = buildDispatchFunction(this, {
      jobQueue: this.jobQueue,
      schedulePeriod,
      serviceName: this.serviceName,
      logRetention,
    });
    this.#grantDispatch();

    this.pollFunction = buildPollFunction(this, {
      bucket: this.bucket,
      keyPrefix: this.keyPrefix,
      notificationQueue: this.#notificationQueue,
      eventBus: this.eventBus,
      jobQueue: this.jobQueue,
      jobMaxReceiveCount,
      metricsNamespace: this.metricsNamespace,
      serviceName: this.serviceName,
      perMailboxMetrics: props.perMailboxMetrics ?? DEFAULTS.perMailboxMetrics,
      memorySize: props.pollMemorySize ?? DEFAULTS.pollMemorySize,
      timeout: pollTimeout,
      logRetention,
    });
    this.#grantPoll((inline?.rotatedSecretIds ?? []).map((secretId) => secretArnFor(this, secretId)));
    this.pollFunction.addEventSource(jobQueueSource(this.jobQueue, props));

    this.schedule = buildSchedule(this, this.dispatchFunction, schedulePeriod);

    this.fleetHealth = new FleetHealth(this, 'FleetHealth', {
      pollLogGroup: this.pollFunction.logGroup,
      healthMetric: (state, metricProps) => this.metricMailboxHealth(state, metricProps),
    });

    this.alarms = this.#alarms(props, schedulePeriod);

    this.parseStage = this.#parseStage(props, logRetention);
    this.parsedQueue = this.parseStage?.parsedQueue;

    const dashboard = this.#dashboard(props, schedulePeriod, pollTimeout);
    this.dashboard = dashboard?.dashboard;
    this.dashboardUrl = dashboard?.url;
    if (props.outputs ?? DEFAULTS.outputs)
      addIngestionOutputs(this, props.alarmAction, this.#notificationQueue);

    acknowledgeAcceptedFindings(this, {
      ownsUnloggedBucket: !props.bucket && !props.bucketProps?.serverAccessLogsBucket,
    });
  }

  /** The dispatch function reads the config and sends to the job queue, which takes jobs from it alone. */
  #grantDispatch(): void {
    this.#readConfig(this.dispatchFunction);
    grantSend(this.dispatchFunction, this.jobQueue);
    allowOnlySender(this.jobQueue, this.dispatchFunction.role!);
  }

  /**
   * The poll function reads the config, writes the message store (never over an object), sends the
   * notifications (queue, bus or both), reads the mailboxes' secrets and writes back the rotated ones.
   */
  #grantPoll(rotatedSecretArns: readonly string[]): void {
    // The poll function takes every mailbox setting from the deployed config, never from the job.
    this.#readConfig(this.pollFunction);
    grantMessageStore(this.pollFunction, this.bucket, this.keyPrefix);
    denyOverwrites(this.bucket, this.pollFunction.role!, this.keyPrefix);
    if (this.#notificationQueue) grantSend(this.pollFunction, this.#notificationQueue);
    if (this.eventBus) grantPutEvents(this.pollFunction, this.eventBus);
    grantSecretsRead(this.pollFunction, this.secretArns);
    grantSecretsWrite(this.pollFunction, rotatedSecretArns);
  }

  /** The alarms, with their thresholds from the props or defaults.ts. */
  #alarms(props: MailboxIngestionProps, schedulePeriod: Duration): IngestionAlarms {
    return new IngestionAlarms(this, 'Alarms', {
      metricsNamespace: this.metricsNamespace,
      serviceName: this.serviceName,
      jobQueue: this.jobQueue,
      jobDeadLetterQueue: this.jobDeadLetterQueue,
      notificationDeadLetterQueue: this.notificationDeadLetterQueue,
      dispatchFunction: this.dispatchFunction,
      schedule: schedulePeriod,
      oldestJobAgeThreshold: props.oldestJobAgeAlarmThreshold ?? defaultOldestJobAgeThreshold(schedulePeriod),
      pollFailureThreshold: props.pollFailureAlarmThreshold ?? DEFAULTS.pollFailureAlarmThreshold,
      pollFailurePeriod: DEFAULTS.pollFailureAlarmPeriod,
      uncommittedPeriods: DEFAULTS.uncommittedAlarmPeriods,
      alarmAction: props.alarmAction,
      needsAttention: this.metricMailboxHealth('needs-attention'),
      needsAttentionPeriod: needsAttentionAlarmPeriod(schedulePeriod),
      failingMailboxesRuleName: this.fleetHealth.failingMailboxesRule.ruleName,
    });
  }

  /** The parse stage when the `parsedMail` prop asks for it. */
  #parseStage(props: MailboxIngestionProps, logRetention: logs.RetentionDays): ParseStage | undefined {
    if (!props.parsedMail) return undefined;
    return new ParseStage(this, 'ParseStage', {
      ...(props.parsedMail === true ? {} : props.parsedMail),
      bucket: this.bucket,
      keyPrefix: this.keyPrefix,
      kmsKey: props.kmsKey,
      metricsNamespace: this.metricsNamespace,
      serviceName: this.serviceName,
      logRetention,
      pollMemorySize: props.pollMemorySize ?? DEFAULTS.pollMemorySize,
      alarmAction: props.alarmAction,
      eventBus: this.eventBus,
    });
  }

  /** The dashboard when the `dashboard` prop asks for one. */
  #dashboard(
    props: MailboxIngestionProps,
    schedulePeriod: Duration,
    pollTimeout: Duration,
  ): IngestionDashboard | undefined {
    const options = props.dashboard === true ? {} : props.dashboard || undefined;
    if (!options) return undefined;
    return new IngestionDashboard(this, 'Dashboard', {
      ...options,
      metrics: this,
      jobQueue: this.jobQueue,
      jobDeadLetterQueue: this.jobDeadLetterQueue,
      pollFunction: this.pollFunction,
      pollTimeout,
      period: pollMetricPeriod(schedulePeriod),
      fleetHealth: this.fleetHealth,
      perMailboxMetrics: props.perMailboxMetrics ?? DEFAULTS.perMailboxMetrics,
    });
  }

  /** Grants read on the config location and points the function at it (the same variables for both). */
  #readConfig(reader: nodejs.NodejsFunction): void {
    for (const [name, value] of Object.entries(this.configLocation.bind(reader).environment)) {
      reader.addEnvironment(name, value);
    }
  }
}

/** sqs:SendMessage (which also authorizes SendMessageBatch) on one queue, plus its key if it has one. */
function grantSend(grantee: iam.IGrantable, queue: sqs.IQueue): void {
  iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
  queue.encryptionMasterKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
}

/** Poll metrics arrive once per schedule slot: graph them no finer than that (and at least 5 minutes). */
function pollMetricPeriod(schedule: Duration): Duration {
  return Duration.seconds(Math.max(300, schedule.toSeconds()));
}

export { ConfigLocation } from './config-location.ts';
export type { DashboardOptions } from './dashboard.ts';
export type { ArchiveRule, MailboxEntry, MailboxIngestionProps, ParsedMailOptions } from './props.ts';
