/**
 * One notifier over several targets (the SQS queue and the EventBridge bus): each batch goes to every
 * target at once, and a notification is accepted only when every target accepted it. The pipeline DELEs a
 * message only for an accepted notification, so a target that failed an entry keeps the message on the
 * server.
 *
 * A partial success (the queue took it, the bus did not, or the other way round) is not undone: the next
 * run retrieves the message again, stores the identical object and notifies every target again, so the
 * target that had accepted it sees it twice. Delivery is at-least-once on each target; consumers
 * deduplicate on the object key (docs/consume-events.md).
 */
import type { NotificationResult, Notifier, NotifyOptions, OutgoingNotification } from '../ports.ts';

export class EveryTargetNotifier implements Notifier {
  readonly maxBatchSize: number;
  readonly #targets: readonly Notifier[];

  constructor(targets: readonly Notifier[]) {
    if (targets.length === 0) throw new RangeError('EveryTargetNotifier needs at least one target');
    this.#targets = targets;
    // A batch must fit every target's own batch size.
    this.maxBatchSize = Math.min(...targets.map((target) => target.maxBatchSize));
  }

  async send(
    batch: readonly OutgoingNotification[],
    options: NotifyOptions = {},
  ): Promise<NotificationResult[]> {
    // A target that throws instead of answering per entry fails the whole batch on that target alone.
    const perTarget = await Promise.all(
      this.#targets.map((target) =>
        target.send(batch, options).catch((error: unknown) => {
          const reason = `notifier failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
          return batch.map((n): NotificationResult => ({ entryId: n.entryId, ok: false, reason }));
        }),
      ),
    );
    return batch.map((notification, index) => {
      const reasons: string[] = [];
      for (const results of perTarget) {
        const result = results[index];
        if (result === undefined) reasons.push('no result');
        else if (!result.ok) reasons.push(result.reason);
      }
      return reasons.length === 0
        ? { entryId: notification.entryId, ok: true }
        : { entryId: notification.entryId, ok: false, reason: reasons.join('; ') };
    });
  }
}
