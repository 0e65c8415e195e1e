/** Real adapters for pipeline tests: the local default (files + notifications.jsonl) in a temp folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { LocalMessageStore } from '../../lib/adapters/local-message-store.ts';
import { LocalNotifier, NOTIFICATIONS_FILE_NAME } from '../../lib/adapters/local-notifier.ts';
import type { ReceivedNotification } from '../../lib/notification/index.ts';
import type { PollPorts } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore, MessageToStore, StoredMessage } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';

export interface LocalPorts extends PollPorts {
  readonly outDir: string;
  /** Every notification written so far, parsed. */
  notifications(): ReceivedNotification[];
  /** Every stored object: key → bytes. */
  objects(): Map<string, Buffer>;
  remove(): void;
}

export function localPorts(overrides: Partial<PollPorts> = {}): LocalPorts {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-test-'));
  return {
    store: new LocalMessageStore({ outDir }),
    notifier: new LocalNotifier({ outDir }),
    credentials: new ConfigCredentialsProvider({ env: {} }),
    clock: systemClock,
    ...overrides,
    outDir,
    notifications() {
      const file = path.join(outDir, NOTIFICATIONS_FILE_NAME);
      if (!fs.existsSync(file)) return [];
      return fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line));
    },
    objects() {
      const found = new Map<string, Buffer>();
      for (const entry of fs.readdirSync(outDir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || entry.name === NOTIFICATIONS_FILE_NAME || entry.name.startsWith('.')) continue;
        const full = path.join(entry.parentPath, entry.name);
        found.set(path.relative(outDir, full).split(path.sep).join('/'), fs.readFileSync(full));
      }
      return found;
    },
    remove() {
      fs.rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** A store that fails when `shouldFail` says so (before storing anything), and otherwise delegates. */
export function failingStore(
  inner: MessageStore,
  shouldFail: (message: MessageToStore, call: number) => boolean,
): MessageStore {
  let calls = 0;
  return {
    async put(message: MessageToStore): Promise<StoredMessage> {
      if (shouldFail(message, calls++)) {
        message.body.resume();
        throw new Error('injected store failure');
      }
      return inner.put(message);
    },
  };
}

/**
 * For a test file of pipeline runs: an afterEach that runs every cleanup pushed during the test, last
 * first, and `ports`, local ports in a temp folder that is removed after the test.
 */
export function pipelineFixture() {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const ports = (overrides: Partial<PollPorts> = {}): LocalPorts => {
    const created = localPorts(overrides);
    cleanups.push(() => created.remove());
    return created;
  };
  return { cleanups, ports };
}
