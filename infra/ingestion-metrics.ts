/**
 * CloudWatch metrics of a MailboxIngestion, built the way the CDK's own `metric*()` helpers build theirs:
 * a sensible statistic and the 5-minute default period, every one overridable through `MetricOptions`
 * (including `dimensionsMap`, e.g. to add `MailboxId`).
 *
 * The poll metrics are the EMF documents of lib/lambda/metrics.ts, so names and dimensions come from there:
 * each is published per `Service` (all mailboxes of one construct), per `Service` + `MailboxId`, and
 * PollFailures and DroppedJobs also per `Service` + `Reason`.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { METRIC_DIMENSIONS, type METRIC_NAMES } from '../lib/lambda/metric-names.ts';

export type PollMetricName = (typeof METRIC_NAMES)[keyof typeof METRIC_NAMES];

/** Where the poll function publishes: the metrics namespace and the Service dimension's value. */
export interface PollMetricSource {
  readonly metricsNamespace: string;
  readonly serviceName: string;
}

/**
 * One poll metric for all mailboxes of a deployment (dimension `Service`), narrowed by any `extra`
 * dimensions; `props` override everything, as with the CDK's helpers.
 */
export function pollMetric(
  source: PollMetricSource,
  metricName: PollMetricName,
  statistic: string,
  extra: Record<string, string> = {},
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: source.metricsNamespace,
    metricName,
    dimensionsMap: { [METRIC_DIMENSIONS.service]: source.serviceName, ...extra },
    statistic,
    ...props,
  });
}

/** `{ Reason: reason }`, or no extra dimension when no reason is asked for (all reasons together). */
export function reasonDimension(reason: string | undefined): Record<string, string> {
  return reason === undefined ? {} : { [METRIC_DIMENSIONS.reason]: reason };
}

/**
 * A CloudWatch SEARCH over every value of `dimensions` (beside Service) for one poll metric: one line
 * per reason, or per mailbox and reason, whatever values appear, with none listed at synth time.
 */
export function pollMetricSearch(
  source: PollMetricSource,
  metricName: PollMetricName,
  dimensions: readonly string[],
  statistic: string,
  options: { readonly label: string; readonly periodSeconds: number },
): cloudwatch.MathExpression {
  const schema = [source.metricsNamespace, METRIC_DIMENSIONS.service, ...dimensions].join(',');
  const filter = `MetricName="${metricName}" ${METRIC_DIMENSIONS.service}="${source.serviceName}"`;
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} ${filter}', '${statistic}', ${options.periodSeconds})`,
    usingMetrics: {},
    label: options.label,
  });
}
