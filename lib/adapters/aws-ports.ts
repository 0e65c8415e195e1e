/**
 * The ports of a poll on AWS, wired in one place for both edges that poll into S3 (the poll Lambda,
 * functions/poll.ts, and the CLI with --bucket, lib/cli/main.ts): the S3 message store, the notifier (the
 * SQS queue, the EventBridge bus, or both: a notification then counts as accepted only when both took it,
 * lib/adapters/every-target-notifier.ts), and the keep-mode state and health stores beside the messages. The edges keep what differs between them:
 * which clients live how long, where warnings go, and the credentials provider (secret sources allowed).
 */

import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { HealthPorts } from '../health/guarded-poll.ts';
import type { PollPorts } from '../pipeline/poll-mailbox.ts';
import { type Notifier, systemClock } from '../ports.ts';
import type { ConfigCredentialsProvider } from './credentials.ts';
import { createEventBridgeClient, EventBridgeNotifier } from './eventbridge-notifier.ts';
import { EveryTargetNotifier } from './every-target-notifier.ts';
import { S3HealthStore } from './s3-health-store.ts';
import { S3MessageStore, type S3MessageStoreOptions } from './s3-message-store.ts';
import { S3StateStore } from './s3-state-store.ts';
import { secretMaterialOf } from './secret-material.ts';
import { SqsNotifier } from './sqs-notifier.ts';

export interface AwsPortsOptions {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly bucket: string;
  /** Prefix of every key: messages, `.state/` (keep mode) and `.health/` records below it. */
  readonly keyPrefix: string;
  /** The SQS queue of the notifications; at least one of `queueUrl` and `eventBus` is given. */
  readonly queueUrl: string | undefined;
  /** The EventBridge bus (name or ARN) each notification is put on as an "Email Received" event. */
  readonly eventBus?: string | undefined;
  /** Default: one made for the bus (createEventBridgeClient: its ARN's region, AWS_ENDPOINT_URL_EVENTBRIDGE). */
  readonly eventBridge?: EventBridgeClient;
  readonly credentials: ConfigCredentialsProvider;
  /** What the message store could not do but did not need (S3MessageStoreOptions.onWarning). */
  readonly onWarning: S3MessageStoreOptions['onWarning'];
}

/** Messages into S3, notifications into SQS and/or EventBridge, state and health records in the same bucket. */
export function awsPorts(options: AwsPortsOptions): PollPorts & HealthPorts {
  const { s3, bucket, keyPrefix, credentials } = options;
  return {
    store: new S3MessageStore({ client: s3, bucket, keyPrefix, onWarning: options.onWarning }),
    notifier: notifierFor(options),
    credentials,
    clock: systemClock,
    stateStore: new S3StateStore({ client: s3, bucket, keyPrefix }),
    // Each mailbox's circuit breaker and health record: `<keyPrefix>.health/<mailboxId>.json`.
    healthStore: new S3HealthStore({ client: s3, bucket, keyPrefix }),
    secretMaterial: secretMaterialOf(credentials),
  };
}

/** The queue, the bus, or both: with both, every notification must reach each before its message is DELE'd. */
export function notifierFor(
  options: Pick<AwsPortsOptions, 'sqs' | 'queueUrl' | 'eventBus' | 'eventBridge'>,
): Notifier {
  const targets: Notifier[] = [];
  if (options.queueUrl !== undefined) {
    targets.push(new SqsNotifier({ client: options.sqs, queueUrl: options.queueUrl }));
  }
  if (options.eventBus !== undefined) {
    const client = options.eventBridge ?? createEventBridgeClient(options.eventBus);
    targets.push(new EventBridgeNotifier({ client, eventBus: options.eventBus }));
  }
  if (targets.length === 0) throw new RangeError('notifications need a queue URL, an event bus, or both');
  return targets.length === 1 ? targets[0]! : new EveryTargetNotifier(targets);
}
