/**
 * SQS-triggered poller: a batch of jobs per invocation (the event source's batch size), each naming one
 * mailbox, polled concurrently, one poll per mailbox (lib/lambda/poll-job.ts). A job names a mailbox of the deployed
 * config, read here from the same place the dispatcher reads it (lib/lambda/deployed-mailboxes.ts); the
 * mailbox is drained into S3 + SQS (and/or an EventBridge bus) with pollMailbox and the outcome mapped to the job's fate
 * (lib/lambda/disposition.ts). Clients, the config and credentials caches and the logger live for the
 * container, so warm invocations reuse them.
 */
import { randomUUID } from 'node:crypto';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsPorts } from '../lib/adapters/aws-ports.ts';
import { coalesceReads } from '../lib/adapters/coalescing-secret-source.ts';
import { ConfigCredentialsProvider } from '../lib/adapters/credentials.ts';
import { createS3Client } from '../lib/adapters/s3-client.ts';
import { SecretsManagerSource } from '../lib/adapters/secrets-manager-source.ts';
import { createSqsClient } from '../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../lib/deadline.ts';
import { breakerPolicyFromEnv } from '../lib/health/breaker.ts';
import { type HealthPorts, pollGuarded } from '../lib/health/guarded-poll.ts';
import { awsConfigReaders } from '../lib/lambda/config-readers.ts';
import { DeployedConfigCache } from '../lib/lambda/deployed-mailboxes.ts';
import { pollBudgetMs, readPollEnv } from '../lib/lambda/env.ts';
import { asRunLogger, createLogger, logEscapingError, runLogger } from '../lib/lambda/logger.ts';
import { createPollMetrics, publishMetricSets } from '../lib/lambda/metrics.ts';
import { processJobRecords } from '../lib/lambda/poll-job.ts';
import { DEFAULT_MAX_IN_FLIGHT_BYTES } from '../lib/pipeline/defaults.ts';
import type { PollPorts } from '../lib/pipeline/poll-mailbox.ts';

const logger = createLogger();
const s3 = createS3Client();
const sqs = createSqsClient();
const deployedConfig = new DeployedConfigCache(awsConfigReaders(s3));
// One provider per container: secrets are fetched once and reused by warm invocations, never logged.
// Secrets Manager references only: this function never resolves a literal or reads its own environment.
// OAuth2 mailboxes: access tokens are cached for the container and renewed when they would expire before
// the invocation's deadline; rotated refresh tokens are written back with PutSecretValue.
let invocationEndsAtMs = Date.now();
const credentials = new ConfigCredentialsProvider({
  secretSource: coalesceReads(new SecretsManagerSource()),
  allowed: ['secretId'],
  tokenValidUntil: () => invocationEndsAtMs,
  onRefreshTokenRotated: (where) => logger.info('rotated OAuth2 refresh token stored', { secret: where }),
});
let ports: (PollPorts & HealthPorts) | undefined;
let metrics: ReturnType<typeof createPollMetrics> | undefined;

function portsFor(env: ReturnType<typeof readPollEnv>): PollPorts & HealthPorts {
  ports ??= awsPorts({
    s3,
    sqs,
    bucket: env.bucket,
    keyPrefix: env.keyPrefix,
    queueUrl: env.notificationQueueUrl,
    eventBus: env.eventBusName,
    credentials,
    onWarning: (message, error) => logger.warn(message, { error }),
  });
  return ports;
}

async function pollJobs(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const deadline = Deadline.after(pollBudgetMs(context.getRemainingTimeInMillis()));
  invocationEndsAtMs = Date.now() + deadline.remainingMs();
  const env = readPollEnv(process.env);
  const pollPorts = portsFor(env);
  metrics ??= createPollMetrics(env.metricsNamespace, env.serviceName, logger);
  const pollMetrics = metrics;
  // The mailboxes of a batch are polled at once: they share one mailbox's in-flight budget, so a batch of
  // ten busy mailboxes holds no more unstored mail in memory than one mailbox alone would.
  const maxInFlightBytes = Math.floor(DEFAULT_MAX_IN_FLIGHT_BYTES / Math.max(1, event.Records.length));
  return processJobRecords(event.Records, deadline, {
    deployedMailboxes: (configVersion) => deployedConfig.mailboxesFor(env.configLocation, configVersion),
    poll: async (mailbox, runDeadline, runLog) => {
      const outcome = await pollGuarded(mailbox, pollPorts, runDeadline, {
        breaker: breakerPolicyFromEnv(process.env),
        logger: runLog,
        maxInFlightBytes,
      });
      // A refused secret may have been rotated since it was cached: read it afresh next time.
      if (outcome.status === 'auth-failed') credentials.forget(mailbox.credential);
      return outcome;
    },
    changeVisibility: async (receiptHandle, seconds) => {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: env.jobQueueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
    emitMetrics: (sets) => publishMetricSets(pollMetrics, sets),
    metricContext: () => ({ service: env.serviceName, perMailbox: env.perMailboxMetrics }),
    logger: asRunLogger(logger),
    loggerFor: (keys) => asRunLogger(runLogger(logger, keys)),
    newRunId: randomUUID,
    retryPolicy: { maxReceiveCount: env.jobMaxReceiveCount },
  });
}

/** An error escaping the run is logged with its cause chain before it fails the invocation. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return logEscapingError(logger, () => pollJobs(event, context));
}
