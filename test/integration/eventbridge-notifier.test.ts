import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createEventBridgeClient,
  EMAIL_RECEIVED_DETAIL_TYPE,
  EVENT_SOURCE,
  EventBridgeNotifier,
  eventBusRegion,
  putEventsEntryBytes,
} from '../../lib/adapters/eventbridge-notifier.ts';
import { EveryTargetNotifier } from '../../lib/adapters/every-target-notifier.ts';
import { EVENTBRIDGE_MAX_ENTRY_BYTES } from '../../lib/aws-limits.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { NotificationResult, Notifier, OutgoingNotification } from '../../lib/ports.ts';
import { type EventBridgeEndpoint, startEventBridgeEndpoint } from '../support/eventbridge-endpoint.ts';

let endpoint: EventBridgeEndpoint;

beforeAll(async () => {
  endpoint = await startEventBridgeEndpoint();
});
afterAll(async () => {
  await endpoint?.close();
});
afterEach(() => {
  vi.unstubAllEnvs();
  endpoint.events.length = 0;
  endpoint.calls.length = 0;
  endpoint.failed.length = 0;
  endpoint.failEntries(undefined);
  endpoint.failCalls(0, { status: 400, type: 'ThrottlingException' });
});

function notification(n: number, bodyBytes = 0): OutgoingNotification {
  const key = `mail/support/uidl/UID-${n}/${'a'.repeat(64)}.eml`;
  const body = JSON.stringify({ receipt: { action: { objectKey: key } }, pad: 'x'.repeat(bodyBytes) });
  return { entryId: `entry-${n}`, body, mailboxId: 'support', deduplicationKey: key };
}

const uidOf = (detail: string) => /UID-(\d+)/.exec(detail)?.[1];

/** A notifier whose client comes from the environment, as the Lambda and the CLI build it. */
function notifierFor(eventBus = 'mail-events'): EventBridgeNotifier {
  vi.stubEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', endpoint.endpoint);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  return new EventBridgeNotifier({
    client: createEventBridgeClient(eventBus),
    eventBus,
    sleep: async () => {},
  });
}

describe('EventBridgeNotifier', () => {
  it('puts one event per notification: source, detail-type, the body as detail, the bus as given', async () => {
    const batch = [notification(1), notification(2)];
    const results = await notifierFor('arn:aws:events:us-east-1:123456789012:event-bus/mail').send(batch);

    expect(results).toEqual(batch.map((entry) => ({ entryId: entry.entryId, ok: true })));
    expect(endpoint.events.map((event) => event.detail)).toEqual(batch.map((entry) => entry.body));
    for (const event of endpoint.events) {
      expect(event).toMatchObject({ source: EVENT_SOURCE, detailType: EMAIL_RECEIVED_DETAIL_TYPE });
      expect(event.eventBusName).toBe('arn:aws:events:us-east-1:123456789012:event-bus/mail');
      expect(event.resources).toBeUndefined();
    }
  });

  it('fails only the entries EventBridge failed; the others are accepted', async () => {
    endpoint.failEntries((event) =>
      uidOf(event.detail) === '2' ? { code: 'MalformedDetail', message: 'bad' } : undefined,
    );
    const results = await notifierFor().send([notification(1), notification(2), notification(3)]);

    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ reason: 'MalformedDetail: bad' });
    // Not retryable: put once.
    expect(endpoint.calls).toEqual([3]);
  });

  it('sends entries failed by throttling or an internal failure again, only those', async () => {
    endpoint.failEntries((event, attempt) => {
      if (uidOf(event.detail) === '1' && attempt < 2) return { code: 'ThrottlingException', message: 'slow' };
      if (uidOf(event.detail) === '3' && attempt < 1) return { code: 'InternalFailure', message: 'oops' };
      return undefined;
    });
    const results = await notifierFor().send([notification(1), notification(2), notification(3)]);

    expect(results.every((result) => result.ok)).toBe(true);
    expect(endpoint.calls).toEqual([3, 2, 1]);
    expect(endpoint.events.map((event) => uidOf(event.detail))).toEqual(['2', '3', '1']);
  });

  it('gives up on an entry still throttled after the retries', async () => {
    endpoint.failEntries(() => ({ code: 'ThrottlingException', message: 'slow' }));
    const results = await notifierFor().send([notification(1)]);
    expect(results).toEqual([{ entryId: 'entry-1', ok: false, reason: 'ThrottlingException: slow' }]);
    expect(endpoint.calls).toEqual([1, 1, 1]);
  });

  it('fails every entry of a call the service refused as a whole, after the SDK retried it', async () => {
    endpoint.failCalls(10, { status: 500, type: 'InternalException' });
    const results = await notifierFor().send([notification(1), notification(2)]);
    expect(results.map((result) => result.ok)).toEqual([false, false]);
    expect((results[0] as NotificationResult & { reason: string }).reason).toMatch(/InternalException/);
    expect(endpoint.events).toEqual([]);
  });

  it('packs at most 10 entries, and at most 256 KB of entries, into one call', async () => {
    const small = Array.from({ length: 23 }, (_, i) => notification(i));
    await notifierFor().send(small);
    expect(endpoint.calls).toEqual([10, 10, 3]);

    endpoint.calls.length = 0;
    const large = Array.from({ length: 3 }, (_, i) => notification(100 + i, 100 * 1024));
    const results = await notifierFor().send(large);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(endpoint.calls).toEqual([2, 1]);
  });

  it('fails an entry over 256 KB as EventBridge counts it, without sending it', async () => {
    const entry = { Source: EVENT_SOURCE, DetailType: EMAIL_RECEIVED_DETAIL_TYPE };
    const overhead = putEventsEntryBytes({ ...entry, Detail: notification(1).body });
    const fits = notification(1, EVENTBRIDGE_MAX_ENTRY_BYTES - overhead);
    const over = notification(2, EVENTBRIDGE_MAX_ENTRY_BYTES - overhead + 1);
    expect(putEventsEntryBytes({ ...entry, Detail: fits.body })).toBe(EVENTBRIDGE_MAX_ENTRY_BYTES);

    const results = await notifierFor().send([fits, over]);
    expect(results[0]).toEqual({ entryId: 'entry-1', ok: true });
    expect(results[1]).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/over the PutEvents entry limit/),
    });
    expect(endpoint.calls).toEqual([1]);
  });

  it('counts Time as 14 bytes and each resource in UTF-8 bytes', () => {
    expect(
      putEventsEntryBytes({ Time: new Date(), Source: 'ä', DetailType: 'b', Detail: '{}', Resources: ['€'] }),
    ).toBe(14 + 2 + 1 + 2 + 3);
  });

  it('abandons its entries once the run deadline passed', async () => {
    const results = await notifierFor().send([notification(1)], { signal: Deadline.after(0).signal() });
    expect(results[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/deadline/) });
    expect(endpoint.events).toEqual([]);
  });

  it('takes the region from a bus ARN', () => {
    expect(eventBusRegion('arn:aws:events:eu-west-1:123456789012:event-bus/mail')).toBe('eu-west-1');
    expect(eventBusRegion('mail')).toBeUndefined();
  });
});

describe('EveryTargetNotifier', () => {
  const target = (maxBatchSize: number, failed: ReadonlySet<string>): Notifier => ({
    maxBatchSize,
    send: async (batch) =>
      batch.map((n) =>
        failed.has(n.entryId)
          ? { entryId: n.entryId, ok: false, reason: `${maxBatchSize} no` }
          : { entryId: n.entryId, ok: true },
      ),
  });

  it('accepts a notification only when every target accepted it', async () => {
    const both = new EveryTargetNotifier([
      target(10, new Set(['entry-1'])),
      target(8, new Set(['entry-2', 'entry-1'])),
    ]);
    const results = await both.send([notification(1), notification(2), notification(3)]);
    expect(both.maxBatchSize).toBe(8);
    expect(results).toEqual([
      { entryId: 'entry-1', ok: false, reason: '10 no; 8 no' },
      { entryId: 'entry-2', ok: false, reason: '8 no' },
      { entryId: 'entry-3', ok: true },
    ]);
  });

  it('fails the batch on a target that throws, and still sends it to the others', async () => {
    const sent: string[] = [];
    const throwing: Notifier = {
      maxBatchSize: 10,
      send: async () => {
        throw new TypeError('broken');
      },
    };
    const recording: Notifier = {
      maxBatchSize: 10,
      send: async (batch) => {
        sent.push(...batch.map((n) => n.entryId));
        return batch.map((n) => ({ entryId: n.entryId, ok: true }));
      },
    };
    const results = await new EveryTargetNotifier([throwing, recording]).send([notification(1)]);
    expect(results).toEqual([
      { entryId: 'entry-1', ok: false, reason: 'notifier failed: TypeError: broken' },
    ]);
    expect(sent).toEqual(['entry-1']);
  });
});
