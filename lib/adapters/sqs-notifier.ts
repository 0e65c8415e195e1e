/**
 * Notifier on SQS: SendMessageBatch with one result per entry. Entries SQS could not take through no fault
 * of ours (throttling, internal errors) are retried a couple of times; entries it rejects as malformed are
 * reported at once. A FIFO queue (URL ends in `.fifo`) gets one message group per mailbox, keeping each
 * mailbox's notifications in order, and a deduplication id derived from the object key, so a notification
 * re-sent after an interrupted run within the 5-minute deduplication window is delivered once. Requests
 * take the run's deadline as abort signal: an abandoned one fails its entries (no DELE for them).
 */
import { createHash } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { SQS_MAX_BATCH_ENTRIES, SQS_MAX_PAYLOAD_BYTES } from '../aws-limits.ts';
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

const MAILBOX_ID_ATTRIBUTE = 'mailboxId';

/** A SendMessageBatch request: 10 entries, and 1 MiB of bodies and attributes together. */
const SQS_REQUEST_LIMITS = { maxEntries: SQS_MAX_BATCH_ENTRIES, maxBytes: SQS_MAX_PAYLOAD_BYTES };

export interface SqsNotifierOptions extends EntryRetryOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
}

export class SqsNotifier implements Notifier {
  readonly maxBatchSize = SQS_MAX_BATCH_ENTRIES;
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #fifo: boolean;
  readonly #retryOptions: EntryRetryOptions;

  constructor(options: SqsNotifierOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#fifo = options.queueUrl.endsWith('.fifo');
    this.#retryOptions = options;
  }

  async send(
    batch: readonly OutgoingNotification[],
    options: NotifyOptions = {},
  ): Promise<NotificationResult[]> {
    const results = new Map<OutgoingNotification, NotificationResult>();
    const sendable: OutgoingNotification[] = [];
    const seenIds = new Set<string>();
    for (const notification of batch) {
      const size = payloadBytes(notification);
      if (seenIds.has(notification.entryId)) {
        results.set(notification, failure(notification, 'entryId is not unique within the batch'));
      } else if (size > SQS_MAX_PAYLOAD_BYTES) {
        const reason = `notification is ${size} bytes, over the SQS limit of ${SQS_MAX_PAYLOAD_BYTES}`;
        results.set(notification, failure(notification, reason));
      } else {
        sendable.push(notification);
      }
      seenIds.add(notification.entryId);
    }
    for (const request of packRequests(sendable, SQS_REQUEST_LIMITS, payloadBytes)) {
      for (const [notification, result] of await this.#sendWithRetries(request, options.signal)) {
        results.set(notification, result);
      }
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
    const reason = `not sent to ${this.#queueUrl}: the run's deadline passed`;
    return sendWithRetries(request, this.#retryOptions, attempt, { signal, reason });
  }

  /** One SendMessageBatch call; records final results and returns the entries worth sending again. */
  async #attempt(
    outstanding: readonly OutgoingNotification[],
    isLastAttempt: boolean,
    results: EntryResults,
    signal: AbortSignal | undefined,
  ): Promise<OutgoingNotification[]> {
    // Positional ids: SQS restricts the characters of batch entry ids, and ours come from the caller.
    const byId = new Map(outstanding.map((notification, index) => [`m${index}`, notification]));
    let reply: SendMessageBatchCommandOutput;
    try {
      const entries = [...byId].map(([id, notification]) => this.#entry(notification, id));
      const command = new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries });
      reply = await sendAbortable(this.#client, command, signal);
    } catch (error) {
      // The SDK has already retried what it could; what is left fails every entry of this request. An
      // abandoned request may still have been accepted: the next run re-sends (FIFO deduplicates).
      const reason = signal?.aborted
        ? `SendMessageBatch to ${this.#queueUrl} abandoned: the run's deadline passed`
        : `SendMessageBatch to ${this.#queueUrl} failed: ${describeAwsError(error)}`;
      for (const notification of outstanding) results.set(notification, failure(notification, reason));
      return [];
    }
    const retry: OutgoingNotification[] = [];
    for (const success of reply.Successful ?? []) {
      const id = success.Id ?? '';
      const notification = byId.get(id);
      if (notification === undefined) continue;
      byId.delete(id);
      results.set(notification, { entryId: notification.entryId, ok: true });
    }
    for (const failed of reply.Failed ?? []) {
      const id = failed.Id ?? '';
      const notification = byId.get(id);
      if (notification === undefined) continue;
      byId.delete(id);
      if (failed.SenderFault !== true && !isLastAttempt) {
        retry.push(notification);
      } else {
        const reason = `${failed.Code ?? 'Failed'}: ${failed.Message ?? 'no message'}`;
        results.set(notification, failure(notification, reason));
      }
    }
    // An entry missing from both lists has an unknown fate: sending it again is the safe side.
    for (const notification of byId.values()) {
      if (isLastAttempt) results.set(notification, failure(notification, 'SQS returned no result for it'));
      else retry.push(notification);
    }
    return retry;
  }

  #entry(notification: OutgoingNotification, id: string): SendMessageBatchRequestEntry {
    return {
      Id: id,
      MessageBody: notification.body,
      MessageAttributes: {
        [MAILBOX_ID_ATTRIBUTE]: { DataType: 'String', StringValue: notification.mailboxId },
      },
      ...(this.#fifo
        ? {
            MessageGroupId: notification.mailboxId,
            // SQS allows 128 characters; the hex SHA-256 of the key has 64 and stays unique.
            MessageDeduplicationId: createHash('sha256').update(notification.deduplicationKey).digest('hex'),
          }
        : {}),
    };
  }
}

/** An SQS client for AWS_REGION (default us-east-1), pointed at AWS_ENDPOINT_URL_SQS when it is set. */
export function createSqsClient(config: SQSClientConfig = {}): SQSClient {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_SQS');
  return new SQSClient({
    region: regionFromEnv(),
    ...AWS_CLIENT_DEFAULTS,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...config,
  });
}

/** Size as SQS counts it: body plus each attribute's name, type and value, in UTF-8 bytes. */
function payloadBytes(notification: OutgoingNotification): number {
  return (
    Buffer.byteLength(notification.body, 'utf8') +
    Buffer.byteLength(MAILBOX_ID_ATTRIBUTE) +
    Buffer.byteLength('String') +
    Buffer.byteLength(notification.mailboxId, 'utf8')
  );
}
