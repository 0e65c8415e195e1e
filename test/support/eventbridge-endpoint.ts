/**
 * A recording stand-in for Amazon EventBridge's PutEvents (fauxqs serves S3 and SQS, not EventBridge), over
 * the service's JSON 1.1 protocol (`X-Amz-Target: AWSEvents.PutEvents`). It keeps every accepted entry,
 * answers per entry in request order as the service does (`EventId`, or `ErrorCode` and `ErrorMessage`,
 * and `FailedEntryCount`), and enforces the limits the notifier must respect: at most 10 entries per call,
 * each at most 256 KB as the service counts it. A test chooses entries to fail (per entry, for a number of
 * attempts or for good) and whole calls to fail (an HTTP error with the service's error type).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface RecordedEvent {
  readonly eventId: string;
  readonly eventBusName: string | undefined;
  readonly source: string;
  readonly detailType: string;
  readonly detail: string;
  readonly resources: readonly string[] | undefined;
}

export interface EntryFailure {
  readonly code: string;
  readonly message: string;
}

/** Decides an entry's failure; `attempt` counts the times an entry with this detail was put before. */
export type EntryFailurePolicy = (event: RecordedEvent, attempt: number) => EntryFailure | undefined;

export interface CallFailure {
  /** HTTP status, e.g. 400 for ThrottlingException, 500 for InternalException. */
  readonly status: number;
  readonly type: string;
}

export interface EventBridgeEndpoint {
  /** For AWS_ENDPOINT_URL_EVENTBRIDGE. */
  readonly endpoint: string;
  /** Every entry accepted, in order. */
  readonly events: RecordedEvent[];
  /** The number of entries of each PutEvents call that reached the entries (whole-call failures too). */
  readonly calls: number[];
  /** Entries answered with an ErrorCode, in order. */
  readonly failed: (RecordedEvent & EntryFailure)[];
  /** Sets the per-entry failures and forgets how often each entry was put so far. */
  failEntries(policy: EntryFailurePolicy | undefined): void;
  /** The next `count` calls are answered with this error, accepting nothing. */
  failCalls(count: number, failure: CallFailure): void;
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
const MAX_ENTRY_BYTES = 256 * 1024;

interface WireEntry {
  EventBusName?: string;
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: unknown;
}

export async function startEventBridgeEndpoint(): Promise<EventBridgeEndpoint> {
  const events: RecordedEvent[] = [];
  const failed: (RecordedEvent & EntryFailure)[] = [];
  const calls: number[] = [];
  const attempts = new Map<string, number>();
  let policy: EntryFailurePolicy | undefined;
  let callFailures: { count: number; failure: CallFailure } | undefined;

  const answer = (body: string): { status: number; json: object } => {
    let request: { Entries?: WireEntry[] };
    try {
      request = JSON.parse(body) as { Entries?: WireEntry[] };
    } catch {
      return { status: 400, json: { __type: 'SerializationException', message: 'not JSON' } };
    }
    const entries = request.Entries ?? [];
    calls.push(entries.length);
    if (callFailures !== undefined && callFailures.count > 0) {
      callFailures.count--;
      return {
        status: callFailures.failure.status,
        json: { __type: callFailures.failure.type, message: 'injected' },
      };
    }
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      const message = `Entries must have 1 to ${MAX_ENTRIES} members, got ${entries.length}`;
      return { status: 400, json: { __type: 'ValidationException', message } };
    }
    const results = entries.map((entry) => {
      const event: RecordedEvent = {
        eventId: randomUUID(),
        eventBusName: entry.EventBusName,
        source: entry.Source ?? '',
        detailType: entry.DetailType ?? '',
        detail: entry.Detail ?? '',
        resources: entry.Resources,
      };
      if (entryBytes(entry) > MAX_ENTRY_BYTES) {
        failed.push({ ...event, code: 'InvalidArgument', message: 'entry too large' });
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: 'Total size of the entries in the request is over the limit.',
        };
      }
      const attempt = attempts.get(event.detail) ?? 0;
      attempts.set(event.detail, attempt + 1);
      const failure = policy?.(event, attempt);
      if (failure !== undefined) {
        failed.push({ ...event, ...failure });
        return { ErrorCode: failure.code, ErrorMessage: failure.message };
      }
      events.push(event);
      return { EventId: event.eventId };
    });
    const failedEntryCount = results.filter((result) => 'ErrorCode' in result).length;
    return { status: 200, json: { FailedEntryCount: failedEntryCount, Entries: results } };
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const isPutEvents = request.headers['x-amz-target'] === 'AWSEvents.PutEvents';
      const { status, json } = isPutEvents
        ? answer(Buffer.concat(chunks).toString('utf8'))
        : { status: 400, json: { __type: 'UnknownOperationException', message: 'only PutEvents' } };
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  return {
    endpoint: `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`,
    events,
    calls,
    failed,
    failEntries: (next) => {
      policy = next;
      attempts.clear();
    },
    failCalls: (count, failure) => {
      callFailures = { count, failure };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The size EventBridge counts for an entry (User Guide, "Calculating PutEvents event entry size"). */
function entryBytes(entry: WireEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    size += Buffer.byteLength(text ?? '', 'utf8');
  }
  return size;
}
