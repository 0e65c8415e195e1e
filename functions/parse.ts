/**
 * The parse stage (docs/parsed-mail.md), created by the construct only when `parsedMail` is set: S3
 * ObjectCreated events of raw `.eml` keys arrive through the stage's queue; each message is parsed into
 * its document and parts beside the raw object and announced with an `Email Parsed` event on the parsed
 * queue, and on the event bus when there is one (lib/parsed/parse-stage.ts, lib/lambda/parse-records.ts,
 * lib/lambda/parsed-event-targets.ts). Wiring only: the clients, logger and
 * metrics live for the container; each invocation's requests stop at its deadline.
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createS3Client } from '../lib/adapters/s3-client.ts';
import { createSqsClient } from '../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../lib/deadline.ts';
import { pollBudgetMs, requireEnv } from '../lib/lambda/env.ts';
import { DEFAULT_SERVICE_NAME, ENV_NAMES } from '../lib/lambda/env-names.ts';
import { asRunLogger, createLogger, logEscapingError } from '../lib/lambda/logger.ts';
import { DEFAULT_METRICS_NAMESPACE } from '../lib/lambda/metric-names.ts';
import { createPollMetrics, publishMetricSets } from '../lib/lambda/metrics.ts';
import { processParseRecords } from '../lib/lambda/parse-records.ts';
import { parsedEventTargets } from '../lib/lambda/parsed-event-targets.ts';
import { parseStoredMessage } from '../lib/parsed/parse-stage.ts';
import { S3ParsedStore } from '../lib/parsed/s3-parsed-store.ts';
import type { Notifier } from '../lib/ports.ts';

const logger = createLogger();
const s3 = createS3Client();
const sqs = createSqsClient();
let metrics: ReturnType<typeof createPollMetrics> | undefined;
/** The event targets for the container's life, as the SDK clients: a bus client is not made per invocation. */
let targets: { readonly key: string; readonly notifier: Notifier } | undefined;

function eventTargets(parsedQueueUrl: string, eventBus: string | undefined): Notifier {
  const key = `${parsedQueueUrl} ${eventBus ?? ''}`;
  if (targets?.key !== key)
    targets = { key, notifier: parsedEventTargets({ sqs, parsedQueueUrl, eventBus }) };
  return targets.notifier;
}

async function parseRecords(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  const env = process.env;
  const bucket = requireEnv(env, ENV_NAMES.messageBucket);
  const keyPrefix = env[ENV_NAMES.keyPrefix] ?? '';
  const service = env[ENV_NAMES.serviceName] || DEFAULT_SERVICE_NAME;
  const notifier = eventTargets(
    requireEnv(env, ENV_NAMES.parsedQueueUrl),
    env[ENV_NAMES.eventBusName] || undefined,
  );
  const signal = Deadline.after(pollBudgetMs(context.getRemainingTimeInMillis())).signal();
  const store = new S3ParsedStore({ client: s3, bucket, signal });
  metrics ??= createPollMetrics(
    env[ENV_NAMES.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
    service,
    logger,
  );
  const parseMetrics = metrics;
  return processParseRecords(event.Records, {
    bucket,
    service,
    parse: (rawKey) => parseStoredMessage(rawKey, { store, notifier, bucket, keyPrefix }, signal),
    emitMetrics: (sets) => publishMetricSets(parseMetrics, sets),
    logger: asRunLogger(logger),
  });
}

/** An error escaping the batch is logged with its cause chain before it fails the invocation. */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return logEscapingError(logger, () => parseRecords(event, context));
}
