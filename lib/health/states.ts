/**
 * The health states of a mailbox, as a person running a fleet reads them: shared by the health record
 * (lib/health/), the poll function's metrics (lib/lambda/metrics.ts), the CLI's `status` and the
 * construct's alarm and dashboard (infra/). Kept free of any import, like lib/lambda/metric-names.ts.
 *
 * - ok: the last run ended well.
 * - retrying: the last runs failed for a reason that goes away by itself (network, IN-USE, throttling).
 * - needs-attention: a person must act (credentials refused, a configuration mistake that repeats);
 *   the circuit breaker holds further attempts back until the cause changes or a back-off passes.
 * - paused: a person took the mailbox out of the schedule.
 */
export const HEALTH_STATES = ['needs-attention', 'retrying', 'paused', 'ok'] as const;

export type HealthState = (typeof HEALTH_STATES)[number];

/**
 * The folder under the key prefix that holds one health record per mailbox (`<keyPrefix>.health/<id>.json`,
 * lib/adapters/s3-health-store.ts), shared with the construct's grants and bucket policy (infra/grants.ts).
 * Mailbox ids start with a letter or digit, so no message key can fall inside it.
 */
export const HEALTH_RECORDS_FOLDER = '.health/';
