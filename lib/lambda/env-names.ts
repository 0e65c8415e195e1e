/**
 * The names of the environment variables the construct sets on the functions (infra/) and the functions
 * read (lib/lambda/env.ts, config-source.ts), with the defaults a function assumes when one is unset.
 * Kept free of any import, like metric-names.ts, so the compiled construct loads nothing of the
 * Lambda side; the two sides cannot spell a name differently when both take it from here.
 */

export const ENV_NAMES = {
  /** The config location: CONFIG_BUCKET with CONFIG_KEY (an S3 object), or CONFIG_PARAMETER (SSM). */
  configBucket: 'CONFIG_BUCKET',
  configKey: 'CONFIG_KEY',
  configParameter: 'CONFIG_PARAMETER',
  jobQueueUrl: 'JOB_QUEUE_URL',
  schedulePeriodSeconds: 'SCHEDULE_PERIOD_SECONDS',
  messageBucket: 'MESSAGE_BUCKET',
  keyPrefix: 'KEY_PREFIX',
  notificationQueueUrl: 'NOTIFICATION_QUEUE_URL',
  /** The EventBridge bus (name or ARN) each notification is also, or only, put on as an event. */
  eventBusName: 'EVENT_BUS_NAME',
  jobMaxReceiveCount: 'JOB_MAX_RECEIVE_COUNT',
  metricsNamespace: 'METRICS_NAMESPACE',
  perMailboxMetrics: 'PER_MAILBOX_METRICS',
  /** Read by Powertools (the service key of the logs) and by the poll metrics (their Service dimension). */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Read by the Node.js runtime (source maps). */
  nodeOptions: 'NODE_OPTIONS',
  /** Read by the circuit breaker (lib/health/breaker.ts); the construct leaves it unset. */
  breakerConfigRepeats: 'BREAKER_CONFIG_REPEATS',
  /** The parse function (docs/parsed-mail.md): where its `Email Parsed` events go. */
  parsedQueueUrl: 'PARSED_QUEUE_URL',
} as const;

/** The Service of logs and metrics when POWERTOOLS_SERVICE_NAME is unset (the construct always sets it). */
export const DEFAULT_SERVICE_NAME = 'mailbox-poller';

export type EnvName = (typeof ENV_NAMES)[keyof typeof ENV_NAMES];

/** The config location's variables: exactly one of these sets is given to each function. */
export const CONFIG_LOCATION_ENV: readonly (readonly EnvName[])[] = [
  [ENV_NAMES.configBucket, ENV_NAMES.configKey],
  [ENV_NAMES.configParameter],
];

/** What a function reads: `required` fails its start when unset (EnvError), `optional` has a default. */
export interface FunctionEnv {
  readonly required: readonly EnvName[];
  readonly optional: readonly EnvName[];
  /** At least one of these must be set (the poll function's notification targets: queue, bus or both). */
  readonly atLeastOne?: readonly EnvName[];
}

/** The dispatch function, besides its config location. */
export const DISPATCH_ENV: FunctionEnv = {
  required: [ENV_NAMES.jobQueueUrl],
  optional: [ENV_NAMES.schedulePeriodSeconds, ENV_NAMES.serviceName, ENV_NAMES.nodeOptions],
};

/** The poll function, besides its config location. */
export const POLL_ENV: FunctionEnv = {
  required: [ENV_NAMES.messageBucket, ENV_NAMES.jobQueueUrl],
  atLeastOne: [ENV_NAMES.notificationQueueUrl, ENV_NAMES.eventBusName],
  optional: [
    ENV_NAMES.keyPrefix,
    ENV_NAMES.jobMaxReceiveCount,
    ENV_NAMES.metricsNamespace,
    ENV_NAMES.perMailboxMetrics,
    ENV_NAMES.serviceName,
    ENV_NAMES.nodeOptions,
    ENV_NAMES.breakerConfigRepeats,
  ],
};

/** The construct's default schedule, every 5 minutes; the dispatch function's when the variable is unset. */
export const DEFAULT_SCHEDULE_PERIOD_SECONDS = 300;
/**
 * The construct's default redrive policy on the job queue (failed receives before the job DLQ); the poll
 * function's when the variable is unset.
 */
export const DEFAULT_JOB_MAX_RECEIVE_COUNT = 5;

/** The parse function (the optional parse stage, docs/parsed-mail.md). */
export const PARSE_ENV: FunctionEnv = {
  required: [ENV_NAMES.messageBucket, ENV_NAMES.parsedQueueUrl],
  optional: [
    ENV_NAMES.keyPrefix,
    ENV_NAMES.eventBusName,
    ENV_NAMES.metricsNamespace,
    ENV_NAMES.serviceName,
    ENV_NAMES.nodeOptions,
  ],
};
