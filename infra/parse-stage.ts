/**
 * The optional parse stage (docs/parsed-mail.md), created only when the `parsedMail` prop is set:
 *
 *   bucket ──ObjectCreated, <prefix>[<mailbox>/]…​.eml──▶ parse event queue (DLQ) ──▶ parse λ
 *        parse λ ── GetObject raw, PutObject <raw>.parsed/* ──▶ bucket
 *        parse λ ── Email Parsed ──▶ parsed queue (DLQ), and the construct's event bus if it has one
 *
 * A stage of its own, fed by S3's event after the message was stored, so raw ingestion never waits on a
 * parse or fails because of one; the poll function knows nothing of it. Which mailboxes: the S3 event
 * filter names them (one notification per mailbox prefix), so a mailbox that is not parsed costs no
 * invocation and the function needs no access to the config; `mailboxIds` absent, every mailbox.
 * Grants: read the raw messages, write under `*.parsed/` only (never a raw key), send to the parsed queue.
 * The parsed queue is built by `buildParsedEventTarget` alone, so another target (a bus) can be put in
 * its place.
 */
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PARSED_FOLDER_SUFFIX, RAW_SUFFIX } from '../lib/parsed/keys.ts';
import { DEFAULTS } from './defaults.ts';
import { grantPutEvents } from './event-bus.ts';
import { buildParseFunction } from './functions.ts';
import { acknowledgeRuntime, acknowledgeWildcardResource } from './nag-suppressions.ts';
import type { ParsedMailOptions } from './props.ts';
import { queueEncryption } from './resources.ts';

/** The mailbox id of the config (schema/config.schema.json): one key segment, so one S3 event prefix. */
const MAILBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface ParseStageProps extends ParsedMailOptions {
  readonly bucket: s3.IBucket;
  readonly keyPrefix: string;
  readonly kmsKey: kms.IKey | undefined;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly logRetention: logs.RetentionDays;
  /** The poll function's memory: the parse function never gets more. */
  readonly pollMemorySize: number;
  /** Where the stage's alarm notifies, as the construct's other alarms. */
  readonly alarmAction: sns.ITopic | undefined;
  /** The construct's event bus: the `Email Parsed` events are put on it too. */
  readonly eventBus: events.IEventBus | undefined;
}

export class ParseStage extends Construct {
  readonly parseFunction: lambda.Function;
  /** S3's events of new raw messages, the function's trigger. */
  readonly eventQueue: sqs.Queue;
  readonly eventDeadLetterQueue: sqs.Queue;
  /** The `Email Parsed` events. */
  readonly parsedQueue: sqs.Queue;
  readonly parsedDeadLetterQueue: sqs.Queue;
  /** Messages whose parse failed for good (S3 or SQS refused, the timeout): redrive once fixed. */
  readonly eventDeadLetterQueueNotEmpty: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ParseStageProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? Math.min(DEFAULTS.parseMemorySize, props.pollMemorySize);
    if (memorySize > props.pollMemorySize) {
      throw new Error(
        `parsedMail.memorySize (${memorySize} MB) is more than pollMemorySize (${props.pollMemorySize} MB)`,
      );
    }
    for (const mailboxId of props.mailboxIds ?? []) {
      if (!MAILBOX_ID.test(mailboxId))
        throw new Error(`parsedMail.mailboxIds: "${mailboxId}" is no mailbox id`);
    }
    const timeout = props.timeout ?? DEFAULTS.parseTimeout;
    const parsed = buildParsedEventTarget(this, props.kmsKey);
    this.parsedQueue = parsed.queue;
    this.parsedDeadLetterQueue = parsed.dlq;
    this.eventDeadLetterQueue = newQueue(
      this,
      'EventDeadLetterQueue',
      props.kmsKey,
      DEFAULTS.deadLetterRetention,
    );
    this.eventQueue = new sqs.Queue(this, 'EventQueue', {
      ...queueEncryption(props.kmsKey),
      // AWS guidance for SQS-triggered functions: at least 6 × the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * DEFAULTS.jobVisibilityFactor),
      deadLetterQueue: { queue: this.eventDeadLetterQueue, maxReceiveCount: DEFAULTS.parseMaxReceiveCount },
      enforceSSL: true,
    });
    this.parseFunction = buildParseFunction(this, {
      bucket: props.bucket,
      keyPrefix: props.keyPrefix,
      parsedQueue: this.parsedQueue,
      eventBus: props.eventBus,
      metricsNamespace: props.metricsNamespace,
      serviceName: props.serviceName,
      memorySize,
      timeout,
      logRetention: props.logRetention,
    });
    this.parseFunction.addEventSource(
      new SqsEventSource(this.eventQueue, {
        batchSize: DEFAULTS.parseBatchSize,
        reportBatchItemFailures: true,
        maxConcurrency: DEFAULTS.parseMaxConcurrency,
      }),
    );
    this.#notifyOnRawMessages(props);
    this.#grant(props);
    this.#acknowledgeFindings(props);
    this.eventDeadLetterQueueNotEmpty = new cloudwatch.Alarm(this, 'EventDeadLetterQueueNotEmpty', {
      alarmDescription: 'Messages in a dead-letter queue: stored messages whose parse failed for good.',
      metric: this.eventDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmAction) {
      this.eventDeadLetterQueueNotEmpty.addAlarmAction(new actions.SnsAction(props.alarmAction));
    }
  }

  /** The cdk-nag findings the stage's design accepts, each with its reason (nag-suppressions.ts). */
  #acknowledgeFindings(props: ParseStageProps): void {
    acknowledgeRuntime(this.parseFunction);
    const role = this.parseFunction.role!;
    acknowledgeWildcardResource(
      role,
      props.bucket.arnForObjects(`${props.keyPrefix}*${RAW_SUFFIX}`),
      'The raw messages are content-addressed (mailbox/uidl/sha256.eml), known only from the S3 event; ' +
        'GetObject alone, and only of .eml keys under the prefix.',
    );
    acknowledgeWildcardResource(
      role,
      props.bucket.arnForObjects(parsedObjectsPattern(props.keyPrefix)),
      "Parsed objects are named after their raw message's key; PutObject and AbortMultipartUpload only " +
        'under a .parsed/ folder, never onto a raw message.',
    );
    // The CDK's own singleton that puts the S3 event notification on the bucket (one per stack).
    for (const child of Stack.of(this).node.children) {
      if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "The CDK's BucketNotificationsHandler writes its logs with the AWS managed basic execution " +
          'policy; it runs only at deployment, to set the bucket notification.',
      });
    }
  }

  /** One S3 event notification per mailbox prefix (or one for the whole prefix), `.eml` keys only. */
  #notifyOnRawMessages(props: ParseStageProps): void {
    const destination = new s3n.SqsDestination(this.eventQueue);
    const prefixes = props.mailboxIds?.map((id) => `${props.keyPrefix}${id}/`) ?? [props.keyPrefix];
    for (const prefix of prefixes) {
      props.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, {
        ...(prefix === '' ? {} : { prefix }),
        suffix: RAW_SUFFIX,
      });
    }
  }

  #grant(props: ParseStageProps): void {
    const role = this.parseFunction;
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['s3:GetObject'],
      resourceArns: [props.bucket.arnForObjects(`${props.keyPrefix}*${RAW_SUFFIX}`)],
    });
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resourceArns: [props.bucket.arnForObjects(parsedObjectsPattern(props.keyPrefix))],
    });
    props.bucket.encryptionKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
    if (props.eventBus) grantPutEvents(role, props.eventBus);
    iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.parsedQueue.queueArn],
    });
    this.parsedQueue.encryptionMasterKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
}

/** Every parsed object: `<prefix>…<sha256>.parsed/…` (lib/parsed/keys.ts). */
export function parsedObjectsPattern(keyPrefix: string): string {
  return `${keyPrefix}*${PARSED_FOLDER_SUFFIX}*`;
}

/**
 * Where the `Email Parsed` events go: a queue of their own with its DLQ, kept as long as SQS allows, like
 * the message notifications. The one place the target is built.
 */
export function buildParsedEventTarget(
  scope: Construct,
  kmsKey: kms.IKey | undefined,
): { readonly queue: sqs.Queue; readonly dlq: sqs.Queue } {
  const dlq = newQueue(scope, 'ParsedDeadLetterQueue', kmsKey, DEFAULTS.deadLetterRetention);
  const queue = new sqs.Queue(scope, 'ParsedQueue', {
    ...queueEncryption(kmsKey),
    retentionPeriod: DEFAULTS.notificationRetention,
    deadLetterQueue: { queue: dlq, maxReceiveCount: DEFAULTS.notificationMaxReceiveCount },
    removalPolicy: RemovalPolicy.RETAIN,
    enforceSSL: true,
  });
  return { queue, dlq };
}

function newQueue(
  scope: Construct,
  id: string,
  kmsKey: kms.IKey | undefined,
  retention: Duration,
): sqs.Queue {
  return new sqs.Queue(scope, id, {
    ...queueEncryption(kmsKey),
    retentionPeriod: retention,
    removalPolicy: RemovalPolicy.RETAIN,
    enforceSSL: true,
  });
}
