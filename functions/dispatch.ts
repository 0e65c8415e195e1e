/**
 * EventBridge Scheduler target: reads the mailbox config, validates it and queues one poll job per mailbox.
 * The logic lives in lib/lambda/dispatch.ts; this file only wires AWS clients and the environment.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { createS3Client } from '../lib/adapters/s3-message-store.ts';
import { createSqsClient } from '../lib/adapters/sqs-notifier.ts';
import { readConfigDocument } from '../lib/lambda/config-source.ts';
import {
  type DispatchResult,
  dispatchJobs,
  type FailedEntry,
  scheduledTimeOf,
} from '../lib/lambda/dispatch.ts';
import { readDispatchEnv } from '../lib/lambda/env.ts';
import type { JobEntry } from '../lib/lambda/job.ts';
import { asRunLogger, createLogger } from '../lib/lambda/logger.ts';
import { createSsmClient, readSsmParameter } from '../lib/lambda/ssm-parameter.ts';

const logger = createLogger();
const s3 = createS3Client();
const sqs = createSqsClient();
// Only a config kept in SSM needs this client, so it is made on first use.
let ssm: SSMClient | undefined;

function ssmClient(): SSMClient {
  ssm ??= createSsmClient();
  return ssm;
}

async function readS3Object(bucket: string, key: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!response.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return response.Body.transformToString('utf-8');
}

export async function handler(event: unknown, context: Context): Promise<DispatchResult> {
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
      readConfig: () =>
        readConfigDocument(env.configLocation, {
          readS3Object,
          readSsmParameter: (name) => readSsmParameter(name, ssmClient()),
        }),
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
