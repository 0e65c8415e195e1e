/**
 * The EventBridge bus target of a MailboxIngestion (the `eventBus` prop): the poll function puts each
 * notification on it as an "Email Received" event (lib/adapters/eventbridge-notifier.ts) and may put events
 * on that bus and no other. The function's environment names the bus by ARN, so an imported bus of another
 * account or region is reached as it is.
 */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';

/**
 * events:PutEvents on the bus alone. (`IEventBus.grantPutEventsTo` does the same in current CDK versions;
 * spelled out here so the scope is the bus whatever the CDK version of the app.)
 */
export function grantPutEvents(grantee: iam.IGrantable, bus: events.IEventBus): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['events:PutEvents'],
    resourceArns: [bus.eventBusArn],
  });
}

/**
 * A metric EventBridge publishes per custom bus (AWS/Events, dimension EventBusName; EventBridge User
 * Guide, "Monitoring Amazon EventBridge"), e.g. MatchedEvents: events that matched a rule of the bus.
 */
export function eventBusMetric(
  bus: events.IEventBus,
  metricName: string,
  statistic: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName,
    dimensionsMap: { EventBusName: bus.eventBusName },
    statistic,
    ...props,
  });
}
