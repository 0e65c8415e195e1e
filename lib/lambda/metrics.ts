/**
 * Poll metrics as CloudWatch Embedded Metric Format documents: one JSON line on stdout per document,
 * turned into metrics by CloudWatch Logs with no API call and no extra latency.
 *
 * Every metric is published twice: per Service (what the construct's alarms watch) and per Service +
 * MailboxId (what a person drills into). PollFailures carries a Reason dimension in its own document,
 * because every metric in a document shares that document's dimension sets. DroppedJobs (jobs deleted
 * unpolled: unreadable, or naming no deployed mailbox) has only Service and Reason: the id in such a job
 * is not trusted, and a dimension per forged id would cost a custom metric each.
 */
import type { MailboxOutcome } from '../pipeline/outcome.ts';

export const METRIC_NAMES = {
  messagesRetrieved: 'MessagesRetrieved',
  bytesRetrieved: 'BytesRetrieved',
  messagesLeft: 'MessagesLeft',
  messagesSkipped: 'MessagesSkipped',
  pollFailures: 'PollFailures',
  authFailures: 'AuthFailures',
  pollDuration: 'PollDuration',
  /** Retrieved messages whose store or notification failed: still on the server, to be taken next run. */
  uncommittedMessages: 'UncommittedMessages',
  droppedJobs: 'DroppedJobs',
  /** Keep mode only: listed messages already ingested earlier, left on the server. */
  messagesKept: 'MessagesKept',
  /** Keep mode only: new messages ingested this run. */
  messagesIngested: 'MessagesIngested',
  /** Keep mode only: messages deleted by deleteAfterDays. */
  messagesDeletedAfterDays: 'MessagesDeletedAfterDays',
} as const;

/** Why a job was deleted without polling anything. */
export type DropReason = 'bad-job' | 'unknown-mailbox';

export const DEFAULT_METRICS_NAMESPACE = 'MailboxPoller';

type EmfUnit = 'Count' | 'Bytes' | 'Milliseconds';

interface EmfMetricDefinition {
  readonly Name: string;
  readonly Unit: EmfUnit;
}

/** The EMF envelope: `_aws` says which root keys are metrics and which are dimensions. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly EmfMetricDefinition[];
    }[];
  };
  readonly [key: string]: unknown;
}

export interface MetricContext {
  readonly namespace: string;
  /** The Service dimension: one value per deployment, so alarms can watch all mailboxes at once. */
  readonly service: string;
  readonly timestamp: Date;
}

function document(
  context: MetricContext,
  dimensions: readonly (readonly string[])[],
  dimensionValues: Record<string, string>,
  metrics: readonly (EmfMetricDefinition & { readonly value: number })[],
): EmfDocument {
  const values: Record<string, number> = {};
  for (const metric of metrics) values[metric.Name] = metric.value;
  return {
    _aws: {
      Timestamp: context.timestamp.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: context.namespace,
          Dimensions: dimensions,
          Metrics: metrics.map(({ Name, Unit }) => ({ Name, Unit })),
        },
      ],
    },
    ...dimensionValues,
    ...values,
  };
}

/** The EMF documents for one polled mailbox. */
export function outcomeMetrics(outcome: MailboxOutcome, context: MetricContext): EmfDocument[] {
  const base = { Service: context.service, MailboxId: outcome.mailboxId };
  const docs = [
    document(context, [['Service'], ['Service', 'MailboxId']], base, [
      { Name: METRIC_NAMES.messagesRetrieved, Unit: 'Count', value: outcome.counts.retrieved },
      { Name: METRIC_NAMES.bytesRetrieved, Unit: 'Bytes', value: outcome.counts.bytesRetrieved },
      { Name: METRIC_NAMES.messagesLeft, Unit: 'Count', value: outcome.counts.left },
      { Name: METRIC_NAMES.messagesSkipped, Unit: 'Count', value: outcome.counts.skipped },
      { Name: METRIC_NAMES.uncommittedMessages, Unit: 'Count', value: outcome.counts.uncommitted },
      { Name: METRIC_NAMES.authFailures, Unit: 'Count', value: outcome.status === 'auth-failed' ? 1 : 0 },
      { Name: METRIC_NAMES.pollDuration, Unit: 'Milliseconds', value: outcome.durationMs },
      ...(outcome.keep
        ? ([
            { Name: METRIC_NAMES.messagesKept, Unit: 'Count', value: outcome.keep.kept },
            { Name: METRIC_NAMES.messagesIngested, Unit: 'Count', value: outcome.keep.ingested },
            {
              Name: METRIC_NAMES.messagesDeletedAfterDays,
              Unit: 'Count',
              value: outcome.keep.deletedAfterDays,
            },
          ] as const)
        : []),
    ]),
  ];
  if (outcome.status !== 'ok' && outcome.status !== 'auth-failed') {
    // failed, retry-later and partial: every run that left work behind counts as one PollFailure.
    docs.push(pollFailureMetric(context, outcome.reason ?? outcome.status, outcome.mailboxId));
  }
  return docs;
}

/** One PollFailures data point; `mailboxId` is absent when no mailbox was polled (config unreadable). */
export function pollFailureMetric(context: MetricContext, reason: string, mailboxId?: string): EmfDocument {
  const dimensions: string[][] = [['Service'], ['Service', 'Reason']];
  const values: Record<string, string> = { Service: context.service, Reason: reason };
  if (mailboxId !== undefined) {
    dimensions.push(['Service', 'MailboxId', 'Reason']);
    values['MailboxId'] = mailboxId;
  }
  return document(context, dimensions, values, [
    { Name: METRIC_NAMES.pollFailures, Unit: 'Count', value: 1 },
  ]);
}

/** One DroppedJobs data point, per Service and per Service + Reason. */
export function droppedJobMetric(context: MetricContext, reason: DropReason): EmfDocument {
  return document(
    context,
    [['Service'], ['Service', 'Reason']],
    { Service: context.service, Reason: reason },
    [{ Name: METRIC_NAMES.droppedJobs, Unit: 'Count', value: 1 }],
  );
}

/**
 * Writes each document as one line. Straight to stdout, not console.log: the Lambda runtime prefixes
 * console lines with a timestamp and request id, and CloudWatch only extracts lines that are pure JSON.
 */
export function emitMetrics(
  docs: readonly EmfDocument[],
  write: (line: string) => void = (line) => process.stdout.write(line),
): void {
  for (const doc of docs) write(`${JSON.stringify(doc)}\n`);
}
