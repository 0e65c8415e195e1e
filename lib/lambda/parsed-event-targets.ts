/**
 * Where the parse function's `Email Parsed` events go (docs/parsed-mail.md): always the parsed queue, the
 * whole event as the message body; and, when the construct has an event bus, that bus too, as an event
 * whose `detail` is the body's `detail`, so a rule matches the same field paths either way. With both, an
 * event counts as sent only once each took it; otherwise the record is parsed again later (same keys,
 * same bytes), and a target that had taken it sees it twice.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createEventBridgeClient, EventBridgeNotifier } from '../adapters/eventbridge-notifier.ts';
import { EveryTargetNotifier } from '../adapters/every-target-notifier.ts';
import { SqsNotifier } from '../adapters/sqs-notifier.ts';
import { type EmailParsedEvent, PARSED_EVENT_DETAIL_TYPE } from '../parsed/event.ts';
import type { Notifier, OutgoingNotification } from '../ports.ts';

export interface ParsedEventTargetsOptions {
  readonly sqs: SQSClient;
  readonly parsedQueueUrl: string;
  /** The bus's name or ARN (EVENT_BUS_NAME), or undefined for the queue alone. */
  readonly eventBus: string | undefined;
  /** Default: one made for the bus (its ARN's region, AWS_ENDPOINT_URL_EVENTBRIDGE). */
  readonly eventBridge?: EventBridgeClient;
}

export function parsedEventTargets(options: ParsedEventTargetsOptions): Notifier {
  const queue = new SqsNotifier({ client: options.sqs, queueUrl: options.parsedQueueUrl });
  const { eventBus } = options;
  if (eventBus === undefined) return queue;
  const bus = new EventBridgeNotifier({
    client: options.eventBridge ?? createEventBridgeClient(eventBus),
    eventBus,
    detailType: PARSED_EVENT_DETAIL_TYPE,
    detailOf: detailOfParsedEvent,
  });
  return new EveryTargetNotifier([queue, bus]);
}

/** The `detail` of an `Email Parsed` body (lib/parsed/event.ts), as JSON with its keys in their order. */
export function detailOfParsedEvent(notification: OutgoingNotification): string {
  return JSON.stringify((JSON.parse(notification.body) as EmailParsedEvent).detail);
}
