/**
 * The environment the construct gives each function, read in one place so a missing variable fails with
 * its name instead of as an `undefined` deep inside an SDK call.
 */
import { type ConfigLocation, configLocationFromEnv } from './config-source.ts';
import {
  DEFAULT_JOB_MAX_RECEIVE_COUNT,
  DEFAULT_SCHEDULE_PERIOD_SECONDS,
  DEFAULT_SERVICE_NAME,
  ENV_NAMES,
} from './env-names.ts';
import { DEFAULT_METRICS_NAMESPACE, PER_MAILBOX_METRICS_DEFAULT } from './metric-names.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** What the poll function keeps back from its own timeout to record metrics and release the job. */
export const POLL_SAFETY_MARGIN_MS = 10_000;

export class EnvError extends Error {
  override readonly name = 'EnvError';
}

export function requireEnv(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new EnvError(`environment variable ${name} is not set`);
  return value;
}

function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new EnvError(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** 'true' or 'false' as the construct writes them; unset or empty is the fallback. */
function booleanFlag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new EnvError(`${name} must be true or false, got ${raw}`);
  return raw === 'true';
}

export interface DispatchEnv {
  readonly configLocation: ConfigLocation;
  readonly jobQueueUrl: string;
  readonly schedulePeriodSeconds: number;
}

export function readDispatchEnv(env: Env): DispatchEnv {
  return {
    configLocation: configLocationFromEnv(env),
    jobQueueUrl: requireEnv(env, ENV_NAMES.jobQueueUrl),
    schedulePeriodSeconds: positiveInteger(
      env,
      ENV_NAMES.schedulePeriodSeconds,
      DEFAULT_SCHEDULE_PERIOD_SECONDS,
    ),
  };
}

export interface PollEnv {
  /** The same config the dispatch function reads: the poll function takes every mailbox setting from it. */
  readonly configLocation: ConfigLocation;
  readonly bucket: string;
  readonly keyPrefix: string;
  /** The notification targets: at least one is set; with both, a notification must reach both. */
  readonly notificationQueueUrl: string | undefined;
  /** The EventBridge bus, by name or ARN. */
  readonly eventBusName: string | undefined;
  readonly jobQueueUrl: string;
  readonly jobMaxReceiveCount: number;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  /**
   * PER_MAILBOX_METRICS=true: poll metrics per MailboxId too; false, or unset (the construct's default,
   * PER_MAILBOX_METRICS_DEFAULT): per Service only (see MetricContext.perMailbox).
   */
  readonly perMailboxMetrics: boolean;
}

export function readPollEnv(env: Env): PollEnv {
  const notificationQueueUrl = env[ENV_NAMES.notificationQueueUrl] || undefined;
  const eventBusName = env[ENV_NAMES.eventBusName] || undefined;
  if (notificationQueueUrl === undefined && eventBusName === undefined) {
    throw new EnvError(
      `neither ${ENV_NAMES.notificationQueueUrl} nor ${ENV_NAMES.eventBusName} is set: the notifications have no target`,
    );
  }
  return {
    configLocation: configLocationFromEnv(env),
    bucket: requireEnv(env, ENV_NAMES.messageBucket),
    keyPrefix: env[ENV_NAMES.keyPrefix] ?? '',
    notificationQueueUrl,
    eventBusName,
    jobQueueUrl: requireEnv(env, ENV_NAMES.jobQueueUrl),
    jobMaxReceiveCount: positiveInteger(env, ENV_NAMES.jobMaxReceiveCount, DEFAULT_JOB_MAX_RECEIVE_COUNT),
    metricsNamespace: env[ENV_NAMES.metricsNamespace] || DEFAULT_METRICS_NAMESPACE,
    serviceName: env[ENV_NAMES.serviceName] || DEFAULT_SERVICE_NAME,
    perMailboxMetrics: booleanFlag(env, ENV_NAMES.perMailboxMetrics, PER_MAILBOX_METRICS_DEFAULT),
  };
}

/** Milliseconds the poll may use: what Lambda has left, less the safety margin. */
export function pollBudgetMs(remainingMs: number): number {
  return Math.max(0, remainingMs - POLL_SAFETY_MARGIN_MS);
}
