/**
 * Structured JSON logs for the handlers (Powertools Logger): one line per event, with the mailbox id and a
 * run id on every line of a poll so one run can be followed in CloudWatch Logs Insights.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEFAULT_SERVICE_NAME, ENV_NAMES } from './env-names.ts';

/** The logging surface the pipeline accepts (see PollOptions in lib/pipeline/poll-mailbox.ts). */
export interface RunLogger {
  info(msg: string, data?: object): void;
  warn(msg: string, data?: object): void;
  error(msg: string, data?: object): void;
}

/** The service name comes from POWERTOOLS_SERVICE_NAME, which the construct sets per deployment. */
export function createLogger(): Logger {
  return new Logger({ serviceName: process.env[ENV_NAMES.serviceName] ?? DEFAULT_SERVICE_NAME });
}

/** A child logger whose every line carries the mailbox id and run id. */
export function runLogger(logger: Logger, keys: { mailboxId: string; runId: string }): Logger {
  const child = logger.createChild();
  child.appendKeys(keys);
  return child;
}

/** Adapts a Powertools Logger to the pipeline's logging surface; `data` keys become top-level log keys. */
export function asRunLogger(logger: Logger): RunLogger {
  const extra = (data: object | undefined) => (data === undefined ? [] : [data as Record<string, unknown>]);
  return {
    info: (msg, data) => logger.info(msg, ...extra(data)),
    warn: (msg, data) => logger.warn(msg, ...extra(data)),
    error: (msg, data) => logger.error(msg, ...extra(data)),
  };
}

/**
 * Runs a handler's body; an error escaping it is logged as the Error itself (name, message, stack and the
 * cause chain, which Powertools formats wherever an Error sits in a log line) before it fails the
 * invocation. The Lambda runtime's own report of a failed invocation carries the message and stack only.
 */
export async function logEscapingError<T>(logger: Logger, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    logger.error('invocation failed', { error });
    throw error;
  }
}
