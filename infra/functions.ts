/**
 * The two functions of a MailboxIngestion, each with its own role and log group, and the environment
 * that points it at the resources (names from lib/lambda/env-names.ts, read by lib/lambda/env.ts). Grants
 * stay with the construct, which knows every resource; the config location's variables are added by
 * whoever binds it.
 */
import * as path from 'node:path';
import type { Duration } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV_NAMES } from '../lib/lambda/env-names.ts';
import {
  ARCHITECTURE,
  BUNDLING,
  bundlingFor,
  DEFAULTS,
  FUNCTION_ENVIRONMENT,
  PROJECT_ROOT,
  RUNTIME,
} from './defaults.ts';
import { functionCodeFor } from './function-code.ts';
import { functionAssetHash } from './source-hash.ts';

export interface DispatchFunctionOptions {
  readonly jobQueue: sqs.IQueue;
  readonly schedulePeriod: Duration;
  readonly serviceName: string;
  readonly logRetention: logs.RetentionDays;
}

/** The function the schedule invokes: it queues one poll job per mailbox for the slot. */
export function buildDispatchFunction(scope: Construct, options: DispatchFunctionOptions): lambda.Function {
  return buildFunction(scope, 'Dispatch', 'dispatch.ts', options.logRetention, {
    memorySize: DEFAULTS.dispatchMemorySize,
    timeout: DEFAULTS.dispatchTimeout,
    description: 'Queues one poll job per mailbox for each schedule slot',
    // A failed dispatch is tried again; the slot-based deduplication id keeps the jobs single.
    retryAttempts: 2,
    environment: {
      [ENV_NAMES.jobQueueUrl]: options.jobQueue.queueUrl,
      [ENV_NAMES.schedulePeriodSeconds]: String(options.schedulePeriod.toSeconds()),
      [ENV_NAMES.serviceName]: options.serviceName,
    },
  });
}

export interface PollFunctionOptions {
  readonly bucket: s3.IBucket;
  readonly keyPrefix: string;
  /** The notification targets: at least one of the two. */
  readonly notificationQueue: sqs.IQueue | undefined;
  readonly eventBus: events.IEventBus | undefined;
  readonly jobQueue: sqs.IQueue;
  readonly jobMaxReceiveCount: number;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly perMailboxMetrics: boolean;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
}

/** The function the job queue invokes: it drains the mailboxes of its jobs into the bucket and queue. */
export function buildPollFunction(scope: Construct, options: PollFunctionOptions): lambda.Function {
  return buildFunction(scope, 'Poll', 'poll.ts', options.logRetention, {
    memorySize: options.memorySize,
    timeout: options.timeout,
    description: 'Drains one POP3 mailbox into S3 and SQS',
    environment: {
      [ENV_NAMES.messageBucket]: options.bucket.bucketName,
      [ENV_NAMES.keyPrefix]: options.keyPrefix,
      ...(options.notificationQueue && {
        [ENV_NAMES.notificationQueueUrl]: options.notificationQueue.queueUrl,
      }),
      ...(options.eventBus && { [ENV_NAMES.eventBusName]: options.eventBus.eventBusArn }),
      [ENV_NAMES.jobQueueUrl]: options.jobQueue.queueUrl,
      [ENV_NAMES.perMailboxMetrics]: String(options.perMailboxMetrics),
      [ENV_NAMES.jobMaxReceiveCount]: String(options.jobMaxReceiveCount),
      [ENV_NAMES.metricsNamespace]: options.metricsNamespace,
      [ENV_NAMES.serviceName]: options.serviceName,
    },
  });
}

export interface ParseFunctionOptions {
  readonly bucket: s3.IBucket;
  readonly keyPrefix: string;
  readonly parsedQueue: sqs.IQueue;
  /** Where the `Email Parsed` events also go: the construct's `eventBus`, by ARN. */
  readonly eventBus: events.IEventBus | undefined;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
}

/** The optional parse stage's function (infra/parse-stage.ts): stored messages into parsed documents. */
export function buildParseFunction(scope: Construct, options: ParseFunctionOptions): lambda.Function {
  return buildFunction(scope, 'Parse', 'parse.ts', options.logRetention, {
    memorySize: options.memorySize,
    timeout: options.timeout,
    description: 'Parses each stored message into a JSON document and part objects beside it',
    environment: {
      [ENV_NAMES.messageBucket]: options.bucket.bucketName,
      [ENV_NAMES.keyPrefix]: options.keyPrefix,
      [ENV_NAMES.parsedQueueUrl]: options.parsedQueue.queueUrl,
      ...(options.eventBus ? { [ENV_NAMES.eventBusName]: options.eventBus.eventBusArn } : {}),
      [ENV_NAMES.metricsNamespace]: options.metricsNamespace,
      [ENV_NAMES.serviceName]: options.serviceName,
    },
  });
}

/**
 * The poll function's trigger: the job queue, a batch of jobs (mailboxes) per invocation, each failed job
 * reported alone so the others are not run again, and at most `maxConcurrency` invocations at once.
 */
export function jobQueueSource(
  jobQueue: sqs.IQueue,
  options: { readonly pollBatchSize?: number; readonly maxConcurrency?: number },
): SqsEventSource {
  return new SqsEventSource(jobQueue, {
    batchSize: options.pollBatchSize ?? DEFAULTS.pollBatchSize,
    reportBatchItemFailures: true,
    maxConcurrency: options.maxConcurrency ?? DEFAULTS.maxConcurrency,
  });
}

/**
 * A function with its own role and log group: the role gets exactly the grants made by the construct (no
 * managed policy), and the log group has a retention instead of living forever. Its code is the package's
 * prebuilt bundle, or is bundled from the sources in a checkout (function-code.ts).
 */
function buildFunction(
  scope: Construct,
  id: string,
  entry: string,
  logRetention: logs.RetentionDays,
  options: Pick<
    lambda.FunctionProps,
    'memorySize' | 'timeout' | 'description' | 'environment' | 'retryAttempts'
  >,
): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logRetention });
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Execution role of the ${id.toLowerCase()} function`,
  });
  logGroup.grantWrite(role);
  const common = {
    ...options,
    runtime: RUNTIME,
    architecture: ARCHITECTURE,
    role,
    logGroup,
    environment: { ...FUNCTION_ENVIRONMENT, ...options.environment },
  };
  const code = functionCodeFor(scope, path.basename(entry, '.ts'));
  if (code.kind === 'prebuilt') {
    return new lambda.Function(scope, `${id}Function`, {
      ...common,
      code: lambda.Code.fromAsset(code.directory),
      handler: code.handler,
    });
  }
  return new nodejs.NodejsFunction(scope, `${id}Function`, {
    ...common,
    entry: code.entry,
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    bundling: { ...bundlingFor(code.entry), assetHash: functionAssetHash(PROJECT_ROOT, entry, BUNDLING) },
  });
}
