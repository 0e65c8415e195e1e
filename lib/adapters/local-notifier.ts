/**
 * Notifier on the local file system: each notification body becomes one line of
 * `<outDir>/notifications.jsonl`. A batch is one append followed by one fsync, so a batch reported as
 * sent is on disk; batches from concurrent mailboxes are written one after the other, never interleaved.
 * The file is created 0600 and its folder 0700 (lib/adapters/private-files.ts): it names senders and
 * subjects.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { NotificationResult, Notifier, OutgoingNotification } from '../ports.ts';
import { makePrivateFolder, PRIVATE_FILE_MODE } from './private-files.ts';

export const NOTIFICATIONS_FILE_NAME = 'notifications.jsonl';
/** Same batch size as SQS, so the pipeline behaves the same with either notifier. */
export const LOCAL_MAX_BATCH_SIZE = 10;

const LINE_BREAK = /[\r\n]/;

export interface LocalNotifierOptions {
  readonly outDir: string;
}

export class LocalNotifier implements Notifier {
  readonly maxBatchSize = LOCAL_MAX_BATCH_SIZE;
  readonly #filePath: string;
  readonly #outDir: string;
  #previous: Promise<unknown> = Promise.resolve();

  constructor(options: LocalNotifierOptions) {
    this.#outDir = options.outDir;
    this.#filePath = path.join(options.outDir, NOTIFICATIONS_FILE_NAME);
  }

  /** The file the notifications are appended to. */
  get filePath(): string {
    return this.#filePath;
  }

  send(batch: readonly OutgoingNotification[]): Promise<NotificationResult[]> {
    const appended = this.#previous.then(() => this.#append(batch));
    this.#previous = appended.catch(() => {});
    return appended;
  }

  async #append(batch: readonly OutgoingNotification[]): Promise<NotificationResult[]> {
    const results = new Map<OutgoingNotification, NotificationResult>();
    const accepted: OutgoingNotification[] = [];
    const seenIds = new Set<string>();
    for (const notification of batch) {
      if (seenIds.has(notification.entryId)) {
        results.set(notification, failure(notification, 'entryId is not unique within the batch'));
      } else if (LINE_BREAK.test(notification.body)) {
        // A line break would split the notification over two lines of the JSON Lines file.
        results.set(notification, failure(notification, 'body contains a line break'));
      } else {
        accepted.push(notification);
      }
      seenIds.add(notification.entryId);
    }
    if (accepted.length > 0) {
      const lines = Buffer.from(accepted.map((notification) => `${notification.body}\n`).join(''), 'utf8');
      let problem: string | undefined;
      try {
        await this.#appendDurably(lines);
      } catch (error) {
        problem = `appending to ${this.#filePath} failed: ${error instanceof Error ? error.message : error}`;
      }
      for (const notification of accepted) {
        const result = problem === undefined ? success(notification) : failure(notification, problem);
        results.set(notification, result);
      }
    }
    return batch.map((notification) => results.get(notification)!);
  }

  async #appendDurably(bytes: Buffer): Promise<void> {
    await makePrivateFolder(this.#outDir);
    const file = await open(this.#filePath, 'a', PRIVATE_FILE_MODE);
    try {
      for (let offset = 0; offset < bytes.length; ) {
        offset += (await file.write(bytes, offset)).bytesWritten;
      }
      await file.sync();
    } finally {
      await file.close();
    }
  }
}

function success(notification: OutgoingNotification): NotificationResult {
  return { entryId: notification.entryId, ok: true };
}

function failure(notification: OutgoingNotification, reason: string): NotificationResult {
  return { entryId: notification.entryId, ok: false, reason };
}
