/**
 * EventBridge Scheduler target: reads the mailbox config, validates it and queues one poll job per mailbox.
 * The logic lives in lib/lambda/dispatch.ts; this file only wires AWS clients and the environment.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { createS3Client } from '../lib/adapters/s3-client.ts';
import { createSqsClient } from '../lib/adapters/sqs-notifier.ts';
import { awsConfigReaders } from '../lib/lambda/config-readers.ts';
import { readConfigDocument } from '../lib/lambda/config-source.ts';
import {
  type DispatchResult,
  dispatchJobs,
  type FailedEntry,
  scheduledTimeOf,
} from '../lib/lambda/dispatch.ts';
import { readDispatchEnv } from '../lib/lambda/env.ts';
import type { JobEntry } from '../lib/lambda/job.ts';
import { asRunLogger, createLogger, logEscapingError } from '../lib/lambda/logger.ts';

const logger = createLogger();
const sqs = createSqsClient();
const configReaders = awsConfigReaders(createS3Client());

async function dispatch(event: unknown, context: Context): Promise<DispatchResult> {
  logger.addContext(context);
  const env = readDispatchEnv(process.env);
  let scheduledTime = scheduledTimeOf(event);
  if (scheduledTime === undefined) {
    // Invoked by hand: there is no scheduled time to deduplicate on, so this run gets the current slot.
    scheduledTime = new Date();
    logger.warn('event carries no scheduled time; using the current time', { scheduledTime });
  }
  return dispatchJobs(
    { scheduledTime, periodSeconds: env.schedulePeriodSeconds },
    {
      readConfig: () => readConfigDocument(env.configLocation, configReaders),
      sendBatch: async (entries: readonly JobEntry[]): Promise<FailedEntry[]> => {
        const response = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: env.jobQueueUrl, Entries: [...entries] }),
        );
        return (response.Failed ?? []).map((failure) => ({
          id: failure.Id ?? '',
          code: failure.Code ?? 'unknown',
          senderFault: failure.SenderFault ?? false,
        }));
      },
      logger: asRunLogger(logger),
    },
  );
}

/** An error escaping the run is logged with its cause chain before it fails the invocation. */
export async function handler(event: unknown, context: Context): Promise<DispatchResult> {
  return logEscapingError(logger, () => dispatch(event, context));
}
