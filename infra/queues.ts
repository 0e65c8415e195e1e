/**
 * The queues of a MailboxIngestion, one builder each returning the queue with its dead-letter queue.
 * Both are encrypted (queueEncryption in resources.ts), TLS only, and have a DLQ; their retention and
 * redrive come from defaults.ts.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULTS } from './defaults.ts';
import { queueEncryption } from './resources.ts';

export interface NotificationQueueOptions {
  /** An existing queue: used as it is, and no DLQ is known for it. */
  readonly notificationQueue?: sqs.IQueue;
  /** Props of the new queue, over the defaults (a `deadLetterQueue` here replaces the new DLQ). */
  readonly notificationQueueProps?: sqs.QueueProps;
  readonly kmsKey?: kms.IKey;
}

/**
 * The queue of the message notifications (one per stored message) and its DLQ. The DLQ is absent when
 * the queue was passed in.
 */
export function buildNotificationQueue(
  scope: Construct,
  options: NotificationQueueOptions,
): { readonly queue: sqs.IQueue; readonly dlq: sqs.IQueue | undefined } {
  if (options.notificationQueue) return { queue: options.notificationQueue, dlq: undefined };
  const queueProps = options.notificationQueueProps ?? {};
  const dlq =
    queueProps.deadLetterQueue?.queue ??
    new sqs.Queue(scope, 'NotificationDeadLetterQueue', {
      ...queueEncryption(options.kmsKey),
      fifo: queueProps.fifo,
      retentionPeriod: DEFAULTS.deadLetterRetention,
      removalPolicy: RemovalPolicy.RETAIN,
      enforceSSL: true,
    });
  const queue = new sqs.Queue(scope, 'NotificationQueue', {
    ...queueEncryption(options.kmsKey),
    retentionPeriod: DEFAULTS.notificationRetention,
    deadLetterQueue: { queue: dlq, maxReceiveCount: DEFAULTS.notificationMaxReceiveCount },
    // Notifications not yet consumed outlive the stack, like the messages they announce.
    removalPolicy: RemovalPolicy.RETAIN,
    ...queueProps,
    enforceSSL: true,
  });
  return { queue, dlq };
}

export interface JobQueueOptions {
  readonly kmsKey: kms.IKey | undefined;
  /** The poll function's timeout: the visibility timeout is a multiple of it. */
  readonly pollTimeout: Duration;
  /** Failed receives before a job moves to the job DLQ. */
  readonly maxReceiveCount: number;
}

/** The FIFO queue of the poll jobs (one per mailbox per schedule slot, group = mailbox) and its DLQ. */
export function buildJobQueue(
  scope: Construct,
  options: JobQueueOptions,
): { readonly queue: sqs.Queue; readonly dlq: sqs.Queue } {
  const dlq = new sqs.Queue(scope, 'JobDeadLetterQueue', {
    ...queueEncryption(options.kmsKey),
    fifo: true,
    retentionPeriod: DEFAULTS.deadLetterRetention,
    enforceSSL: true,
  });
  const queue = new sqs.Queue(scope, 'JobQueue', {
    ...queueEncryption(options.kmsKey),
    fifo: true,
    // The deduplication id is mailbox + slot; per-group scope allows high-throughput FIFO.
    contentBasedDeduplication: false,
    deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
    fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
    visibilityTimeout: Duration.seconds(options.pollTimeout.toSeconds() * DEFAULTS.jobVisibilityFactor),
    retentionPeriod: DEFAULTS.jobRetention,
    deadLetterQueue: { queue: dlq, maxReceiveCount: options.maxReceiveCount },
    enforceSSL: true,
  });
  return { queue, dlq };
}
