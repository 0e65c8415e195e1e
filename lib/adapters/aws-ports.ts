/**
 * The ports of a poll on AWS, wired in one place for both edges that poll into S3 and SQS (the poll Lambda,
 * functions/poll.ts, and the CLI with --bucket, lib/cli/main.ts): the S3 message store, the SQS notifier,
 * and the keep-mode state and health stores beside the messages. The edges keep what differs between them:
 * which clients live how long, where warnings go, and the credentials provider (secret sources allowed).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { HealthPorts } from '../health/guarded-poll.ts';
import type { PollPorts } from '../pipeline/poll-mailbox.ts';
import { systemClock } from '../ports.ts';
import type { ConfigCredentialsProvider } from './credentials.ts';
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
  readonly queueUrl: string;
  readonly credentials: ConfigCredentialsProvider;
  /** What the message store could not do but did not need (S3MessageStoreOptions.onWarning). */
  readonly onWarning: S3MessageStoreOptions['onWarning'];
}

/** Messages into S3, notifications into SQS, state and health records in the same bucket. */
export function awsPorts(options: AwsPortsOptions): PollPorts & HealthPorts {
  const { s3, bucket, keyPrefix, credentials } = options;
  return {
    store: new S3MessageStore({ client: s3, bucket, keyPrefix, onWarning: options.onWarning }),
    notifier: new SqsNotifier({ client: options.sqs, queueUrl: options.queueUrl }),
    credentials,
    clock: systemClock,
    stateStore: new S3StateStore({ client: s3, bucket, keyPrefix }),
    // Each mailbox's circuit breaker and health record: `<keyPrefix>.health/<mailboxId>.json`.
    healthStore: new S3HealthStore({ client: s3, bucket, keyPrefix }),
    secretMaterial: secretMaterialOf(credentials),
  };
}
