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

/** The `source` of every event; rules match on it (docs/consume-events.md). */
export const EVENT_SOURCE = 'mailbox-poller';
/** The `detail-type` of the event of a stored message. */
export const EMAIL_RECEIVED_DETAIL_TYPE = 'Email Received';

export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_DELAY_MS = 100;

/** Per-entry error codes the PutEvents API reference calls retryable (PutEventsResultEntry.ErrorCode). */
const RETRYABLE_ERROR_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'ThrottlingException']);

export interface EventBridgeNotifierOptions {
  readonly client: EventBridgeClient;
  /** The bus's name or ARN. */
  readonly eventBus: string;
  /** How often an entry that failed through no fault of ours is sent again (default 2). */
  readonly retries?: number;
  /** Delay before the first retry; doubled for each further one (default 100 ms). */
  readonly retryDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

type Results = Map<OutgoingNotification, NotificationResult>;

export class EventBridgeNotifier implements Notifier {
  readonly maxBatchSize = EVENTBRIDGE_MAX_BATCH_ENTRIES;
  readonly #client: EventBridgeClient;
  readonly #eventBus: string;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: EventBridgeNotifierOptions) {
    this.#client = options.client;
    this.#eventBus = options.eventBus;
    this.#retries = options.retries ?? DEFAULT_RETRIES;
    this.#retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async send(
    batch: readonly OutgoingNotification[],
    options: NotifyOptions = {},
  ): Promise<NotificationResult[]> {
    const results: Results = new Map();
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
    for (const request of this.#packRequests(sendable)) {
      await this.#sendWithRetries(request, results, options.signal);
    }
    return batch.map((notification) => results.get(notification)!);
  }

  async #sendWithRetries(
    request: readonly OutgoingNotification[],
    results: Results,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let outstanding = request;
    for (let attempt = 0; outstanding.length > 0; attempt++) {
      if (attempt > 0) await this.#sleep(this.#retryDelayMs * 2 ** (attempt - 1));
      if (signal?.aborted) {
        const reason = `not put on ${this.#eventBus}: the run's deadline passed`;
        for (const notification of outstanding) results.set(notification, failure(notification, reason));
        return;
      }
      outstanding = await this.#attempt(outstanding, attempt >= this.#retries, results, signal);
    }
  }

  /** One PutEvents call; records final results and returns the entries worth sending again. */
  async #attempt(
    outstanding: readonly OutgoingNotification[],
    isLastAttempt: boolean,
    results: Results,
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
      DetailType: EMAIL_RECEIVED_DETAIL_TYPE,
      Detail: notification.body,
    };
  }

  /** Splits entries, in order, into requests of at most 10 entries and 256 KB of entries together. */
  #packRequests(notifications: readonly OutgoingNotification[]): OutgoingNotification[][] {
    const requests: OutgoingNotification[][] = [];
    let current: OutgoingNotification[] = [];
    let currentBytes = 0;
    for (const notification of notifications) {
      const size = putEventsEntryBytes(this.#entry(notification));
      const full = current.length === EVENTBRIDGE_MAX_BATCH_ENTRIES;
      if (current.length > 0 && (full || currentBytes + size > EVENTBRIDGE_MAX_ENTRY_BYTES)) {
        requests.push(current);
        current = [];
        currentBytes = 0;
      }
      current.push(notification);
      currentBytes += size;
    }
    if (current.length > 0) requests.push(current);
    return requests;
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

function failure(notification: OutgoingNotification, reason: string): NotificationResult {
  return { entryId: notification.entryId, ok: false, reason };
}
