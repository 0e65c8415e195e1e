/**
 * Poll metrics, published through Powertools Metrics as CloudWatch Embedded Metric Format documents: one
 * JSON line on stdout per document, turned into metrics by CloudWatch Logs with no API call and no extra
 * latency.
 *
 * What is published is decided here as plain data (a MetricSet: one EMF document), how it is written is
 * Powertools' job (publishMetricSets). Every metric is published twice: per Service (what the construct's
 * alarms watch) and per Service + MailboxId (what a person drills into). PollFailures carries a Reason
 * dimension in its own document, because every metric in a document shares that document's dimension sets.
 * DroppedJobs (jobs deleted unpolled: unreadable, or naming no deployed mailbox) has only Service and
 * Reason: the id in such a job is not trusted, and a dimension per forged id would cost a custom metric
 * each.
 *
 * The dimension is `Service`, capitalised, as the alarms (infra/alarms.ts) and dashboards expect; the
 * lower-case `service` dimension Powertools adds by default is removed (see createPollMetrics).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricsOptions } from '@aws-lambda-powertools/metrics/types';
import type { HealthState } from '../health/states.ts';
import type { MailboxOutcome } from '../pipeline/outcome.ts';
import { type DropReason, METRIC_DIMENSIONS, METRIC_NAMES } from './metric-names.ts';

export {
  DEFAULT_METRICS_NAMESPACE,
  type DropReason,
  METRIC_DIMENSIONS,
  METRIC_NAMES,
} from './metric-names.ts';

/** The Powertools unit names used here (string values of its MetricUnit). */
type Unit = 'Count' | 'Bytes' | 'Milliseconds';

/** The metrics of one EMF document: each metric is published once per dimension set. */
export interface MetricSet {
  readonly dimensionSets: readonly (readonly string[])[];
  /** The value of every dimension named in `dimensionSets`. */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly { readonly name: string; readonly unit: Unit; readonly value: number }[];
}

export interface MetricContext {
  /** The Service dimension: one value per deployment, so alarms can watch all mailboxes at once. */
  readonly service: string;
  /**
   * Also publish every poll metric per Service + MailboxId (default). Each mailbox then adds custom
   * metrics of its own, billed per metric per month: for a large fleet that costs more than the polls.
   */
  readonly perMailbox?: boolean;
}

const { service: SERVICE, mailboxId: MAILBOX_ID, reason: REASON, state: STATE } = METRIC_DIMENSIONS;

/**
 * The metric sets for one polled mailbox. A run its circuit breaker held back polled nothing: it has no
 * poll metrics, only its MailboxHealth data point (mailboxHealthMetric).
 */
export function outcomeMetrics(outcome: MailboxOutcome, context: MetricContext): MetricSet[] {
  if (outcome.reason === 'held-back') return [];
  const sets: MetricSet[] = [
    {
      dimensionSets: context.perMailbox === false ? [[SERVICE]] : [[SERVICE], [SERVICE, MAILBOX_ID]],
      dimensions: { [SERVICE]: context.service, [MAILBOX_ID]: outcome.mailboxId },
      metrics: [
        { name: METRIC_NAMES.messagesRetrieved, unit: 'Count', value: outcome.counts.retrieved },
        { name: METRIC_NAMES.bytesRetrieved, unit: 'Bytes', value: outcome.counts.bytesRetrieved },
        { name: METRIC_NAMES.messagesLeft, unit: 'Count', value: outcome.counts.left },
        { name: METRIC_NAMES.messagesSkipped, unit: 'Count', value: outcome.counts.skipped },
        { name: METRIC_NAMES.uncommittedMessages, unit: 'Count', value: outcome.counts.uncommitted },
        { name: METRIC_NAMES.authFailures, unit: 'Count', value: outcome.status === 'auth-failed' ? 1 : 0 },
        { name: METRIC_NAMES.authRevoked, unit: 'Count', value: outcome.reason === 'auth-revoked' ? 1 : 0 },
        { name: METRIC_NAMES.pollDuration, unit: 'Milliseconds', value: outcome.durationMs },
        ...(outcome.keep
          ? ([
              { name: METRIC_NAMES.messagesKept, unit: 'Count', value: outcome.keep.kept },
              { name: METRIC_NAMES.messagesIngested, unit: 'Count', value: outcome.keep.ingested },
              {
                name: METRIC_NAMES.messagesDeletedAfterDays,
                unit: 'Count',
                value: outcome.keep.deletedAfterDays,
              },
              {
                name: METRIC_NAMES.messagesDeletionWithheld,
                unit: 'Count',
                value: outcome.keep.deletionWithheld ?? 0,
              },
              { name: METRIC_NAMES.reusedUidls, unit: 'Count', value: outcome.keep.reusedUidl ?? 0 },
            ] as const)
          : []),
      ],
    },
  ];
  if (outcome.status !== 'ok' && outcome.status !== 'auth-failed') {
    // failed, retry-later and partial: every run that left work behind counts as one PollFailure.
    const mailboxId = context.perMailbox === false ? undefined : outcome.mailboxId;
    sets.push(pollFailureMetric(context, outcome.reason ?? outcome.status, mailboxId));
  }
  return sets;
}

/** One PollFailures data point; `mailboxId` is absent when no mailbox was polled (config unreadable). */
export function pollFailureMetric(context: MetricContext, reason: string, mailboxId?: string): MetricSet {
  const dimensionSets: string[][] = [[SERVICE], [SERVICE, REASON]];
  const dimensions: Record<string, string> = { [SERVICE]: context.service, [REASON]: reason };
  if (mailboxId !== undefined) {
    dimensionSets.push([SERVICE, MAILBOX_ID, REASON]);
    dimensions[MAILBOX_ID] = mailboxId;
  }
  return {
    dimensionSets,
    dimensions,
    metrics: [{ name: METRIC_NAMES.pollFailures, unit: 'Count', value: 1 }],
  };
}

/**
 * One MailboxHealth data point (value 1) for a mailbox run, dimensions Service + State and never the
 * mailbox: the Sum per State over a schedule period counts the mailboxes in each state at the cost of
 * four metrics, whatever the size of the fleet. Which mailboxes they are: the health records
 * (`mailbox-poller status --bucket`), or the poll log's one line per run.
 */
export function mailboxHealthMetric(context: MetricContext, state: HealthState): MetricSet {
  return {
    dimensionSets: [[SERVICE, STATE]],
    dimensions: { [SERVICE]: context.service, [STATE]: state },
    metrics: [{ name: METRIC_NAMES.mailboxHealth, unit: 'Count', value: 1 }],
  };
}

/**
 * The health state a run leaves its mailbox in: the health record's (lib/health/guarded-poll.ts), or,
 * where no record is kept, what the outcome alone says (refused credentials need a person).
 */
export function healthStateOf(outcome: MailboxOutcome): HealthState {
  if (outcome.health !== undefined) return outcome.health.state;
  if (outcome.status === 'ok') return 'ok';
  return outcome.status === 'auth-failed' ? 'needs-attention' : 'retrying';
}

/** One DroppedJobs data point, per Service and per Service + Reason. */
export function droppedJobMetric(context: MetricContext, reason: DropReason): MetricSet {
  return {
    dimensionSets: [[SERVICE], [SERVICE, REASON]],
    dimensions: { [SERVICE]: context.service, [REASON]: reason },
    metrics: [{ name: METRIC_NAMES.droppedJobs, unit: 'Count', value: 1 }],
  };
}

type WarningLogger = NonNullable<MetricsOptions['logger']>;

/**
 * Powertools warns "EMF key X is defined as both a dimension set and dimension set" whenever two dimension
 * sets of one document share a key, whatever the values: every set here shares `Service` (and the failure
 * sets `Reason`) with the same value by construction, so that notice would be noise on every poll.
 */
const SHARED_DIMENSION_NOTICE = /^EMF key ".*" is defined as both a dimension set and dimension set;/;

function withoutSharedDimensionNotice(logger: WarningLogger): WarningLogger {
  return {
    debug: (...content) => logger.debug(...content),
    info: (...content) => logger.info(...content),
    warn: (...content) => {
      if (!(typeof content[0] === 'string' && SHARED_DIMENSION_NOTICE.test(content[0])))
        logger.warn(...content);
    },
    error: (...content) => logger.error(...content),
  };
}

/**
 * The Metrics instance of a function; `logger` receives Powertools' own warnings (an invalid dimension,
 * a timestamp out of range). Powertools writes each document with its own Console on stdout, not
 * console.log: the Lambda runtime prefixes console lines with a timestamp and request id, and CloudWatch
 * only extracts lines that are pure JSON.
 */
export function createPollMetrics(
  namespace: string,
  service: string,
  logger: WarningLogger = console,
): Metrics {
  return withoutDefaultDimensions(
    new Metrics({ namespace, serviceName: service, logger: withoutSharedDimensionNotice(logger) }),
  );
}

/** Powertools adds `service` to every dimension set; ours already carry `Service`, which alarms watch. */
function withoutDefaultDimensions(metrics: Metrics): Metrics {
  metrics.clearDefaultDimensions();
  return metrics;
}

/**
 * Writes each set as one EMF document. A set of one metric (a failure or a dropped job, with dimensions
 * of its own) goes through `singleMetric()`, which writes at once; a larger set is buffered on the shared
 * instance and flushed by `publishStoredMetrics()` before the next set adds its dimensions.
 */
export function publishMetricSets(metrics: Metrics, sets: readonly MetricSet[]): void {
  for (const set of sets) {
    const single = set.metrics.length === 1;
    const target = single ? withoutDefaultDimensions(metrics.singleMetric()) : metrics;
    for (const names of set.dimensionSets) {
      target.addDimensions(Object.fromEntries(names.map((name) => [name, set.dimensions[name] ?? ''])));
    }
    for (const metric of set.metrics) target.addMetric(metric.name, metric.unit, metric.value);
    if (!single) target.publishStoredMetrics();
  }
}
