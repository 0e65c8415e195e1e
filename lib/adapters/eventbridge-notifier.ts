/**
 * Notifier on an EventBridge event bus: PutEvents with one result per entry, so rules can route each
 * message by mailbox, sender, recipient, subject or verdict to any number of targets.
 *
 * Each notification becomes one event: `source` "mailbox-poller", `detail-type` "Email Received", `detail`
 * the notification's JSON (the SQS body, unchanged: docs/notification.md), so a rule matches on the same
 * field paths a queue consumer reads. No `Time` (EventBridge stamps the call's time; the detail carries
 * `pop3.retrievedAt`) and no `Resources`: the object's ARN would need the partition, which the poller does
 * not know, and the bucket and key are in the detail. The bus is named by name or ARN (`EventBusName`
 * takes both); a bus ARN names its region too, and the client is made for that region
 * (createEventBridgeClient), since PutEvents is answered by the bus's own region.
 *
 * PutEvents answers per entry, in request order: an entry with an `ErrorCode` was not accepted, and its
 * message is not committed (no DELE). Entries failed through no fault of ours (the codes the API reference
 * lists as retryable) are sent again a couple of times, like the SQS notifier's; the rest fail at once.
 * Requests take the run's deadline as abort signal: an abandoned one fails its entries.
 */
import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { EVENTBRIDGE_MAX_BATCH_ENTRIES, EVENTBRIDGE_MAX_ENTRY_BYTES } from '../aws-limits.ts';
import type { NotificationResult, Notifier, NotifyOptions, OutgoingNotification } from '../ports.ts';
import { sendAbortable } from './abortable-send.ts';
import { AWS_CLIENT_DEFAULTS, describeAwsError, endpointFromEnv, regionFromEnv } from './aws-common.ts';
import {
  type EntryResults,
  type EntryRetryOptions,
  failure,
  packRequests,
  sendWithRetries,
} from './entry-batches.ts';

/** The `source` of every event; rules match on it (docs/consume-events.md). */
export const EVENT_SOURCE = 'mailbox-poller';
/** The `detail-type` of the event of a stored message. */
export const EMAIL_RECEIVED_DETAIL_TYPE = 'Email Received';

/** Per-entry error codes the PutEvents API reference calls retryable (PutEventsResultEntry.ErrorCode). */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

export interface EventBridgeNotifierOptions extends EntryRetryOptions {
  readonly client: EventBridgeClient;
  /** The bus's name or ARN. */
  readonly eventBus: string;
  /** @default "Email Received" (EMAIL_RECEIVED_DETAIL_TYPE): a stored message's notification. */
  readonly detailType?: string;
  /** The event's `detail` from a notification. @default its body, unchanged */
  readonly detailOf?: (notification: OutgoingNotification) => string;
}

/** A PutEvents request: 10 entries, and 256 KB of entries together (lib/aws-limits.ts). */
const PUT_EVENTS_LIMITS = {
  maxEntries: EVENTBRIDGE_MAX_BATCH_ENTRIES,
  maxBytes: EVENTBRIDGE_MAX_ENTRY_BYTES,
};

export class EventBridgeNotifier implements Notifier {
  readonly maxBatchSize = EVENTBRIDGE_MAX_BATCH_ENTRIES;
  readonly #client: EventBridgeClient;
  readonly #eventBus: string;
  readonly #detailType: string;
  readonly #detailOf: (notification: OutgoingNotification) => string;
  readonly #retryOptions: EntryRetryOptions;

  constructor(options: EventBridgeNotifierOptions) {
    this.#client = options.client;
    this.#eventBus = options.eventBus;
    this.#detailType = options.detailType ?? EMAIL_RECEIVED_DETAIL_TYPE;
    this.#detailOf = options.detailOf ?? ((notification) => notification.body);
    this.#retryOptions = options;
  }

  async send(
    batch: readonly OutgoingNotification[],
    options: NotifyOptions = {},
  ): Promise<NotificationResult[]> {
    const results: EntryResults = new Map();
    const sendable: OutgoingNotification[] = [];
    for (const notification of batch) {
      const size = putEventsEntryBytes(this.#entry(notification));
      if (size > EVENTBRIDGE_MAX_ENTRY_BYTES) {
        const reason = `event is ${size} bytes, over the PutEvents entry limit of ${EVENTBRIDGE_MAX_ENTRY_BYTES}`;
        results.set(notification, failure(notification, reason));
      } else {
        sendable.push(notification);
      }
    }
    const sizeOf = (notification: OutgoingNotification) => putEventsEntryBytes(this.#entry(notification));
    for (const request of packRequests(sendable, PUT_EVENTS_LIMITS, sizeOf)) {
      const sent = await this.#sendWithRetries(request, options.signal);
      for (const [notification, result] of sent) results.set(notification, result);
    }
    return batch.map((notification) => results.get(notification)!);
  }

  #sendWithRetries(
    request: readonly OutgoingNotification[],
    signal: AbortSignal | undefined,
  ): Promise<EntryResults> {
    const attempt = (
      outstanding: readonly OutgoingNotification[],
      isLastAttempt: boolean,
      results: EntryResults,
    ) => this.#attempt(outstanding, isLastAttempt, results, signal);
    const reason = `not put on ${this.#eventBus}: the run's deadline passed`;
    return sendWithRetries(request, this.#retryOptions, attempt, { signal, reason });
  }

  /** One PutEvents call; records final results and returns the entries worth sending again. */
  async #attempt(
    outstanding: readonly OutgoingNotification[],
    isLastAttempt: boolean,
    results: EntryResults,
    signal: AbortSignal | undefined,
  ): Promise<OutgoingNotification[]> {
    let reply: PutEventsCommandOutput;
    try {
      const command = new PutEventsCommand({ Entries: outstanding.map((n) => this.#entry(n)) });
      reply = await sendAbortable(this.#client, command, signal);
    } catch (error) {
      // The SDK has already retried what it could (throttling, 5xx); what is left fails every entry of
      // this request. An abandoned request may still have been accepted: the next run puts it again.
      const reason = signal?.aborted
        ? `PutEvents to ${this.#eventBus} abandoned: the run's deadline passed`
        : `PutEvents to ${this.#eventBus} failed: ${describeAwsError(error)}`;
      for (const notification of outstanding) results.set(notification, failure(notification, reason));
      return [];
    }
    // The answer lists one entry per request entry, in the same order (PutEvents API reference).
    const answers = reply.Entries ?? [];
    const retry: OutgoingNotification[] = [];
    outstanding.forEach((notification, index) => {
      const answer = answers[index];
      if (answer?.ErrorCode === undefined && answer?.EventId !== undefined) {
        results.set(notification, { entryId: notification.entryId, ok: true });
        return;
      }
      // An entry with neither an event id nor an error code has an unknown fate: sending it again is safe.
      const retryable = answer?.ErrorCode === undefined || RETRYABLE_ERROR_CODES.has(answer.ErrorCode);
      if (retryable && !isLastAttempt) {
        retry.push(notification);
        return;
      }
      const reason =
        answer === undefined
          ? 'PutEvents returned no result for it'
          : `${answer.ErrorCode ?? 'Failed'}: ${answer.ErrorMessage ?? 'no message'}`;
      results.set(notification, failure(notification, reason));
    });
    return retry;
  }

  #entry(notification: OutgoingNotification): PutEventsRequestEntry {
    return {
      EventBusName: this.#eventBus,
      Source: EVENT_SOURCE,
      DetailType: this.#detailType,
      Detail: this.#detailOf(notification),
    };
  }
}

/**
 * An entry's size as EventBridge counts it (User Guide, "Calculating PutEvents event entry size"): 14 bytes
 * for `Time` if given, then the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each `Resources` entry.
 */
export function putEventsEntryBytes(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8');
  size += Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}

/** The region of a bus ARN (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`); undefined for a name. */
export function eventBusRegion(eventBus: string): string | undefined {
  const match = /^arn:[^:]+:events:([^:]+):[^:]*:event-bus\/./.exec(eventBus);
  return match?.[1];
}

/**
 * An EventBridge client for the bus's region (its ARN's, else AWS_REGION, default us-east-1), pointed at
 * AWS_ENDPOINT_URL_EVENTBRIDGE (then AWS_ENDPOINT_URL) when it is set.
 */
export function createEventBridgeClient(
  eventBus: string,
  config: EventBridgeClientConfig = {},
): EventBridgeClient {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_EVENTBRIDGE');
  return new EventBridgeClient({
    region: eventBusRegion(eventBus) ?? regionFromEnv(),
    ...AWS_CLIENT_DEFAULTS,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...config,
  });
}
