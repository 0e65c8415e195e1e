import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalNotifier, NOTIFICATIONS_FILE_NAME } from '../../../lib/adapters/local-notifier.ts';
import type { OutgoingNotification } from '../../../lib/ports.ts';

function notification(n: number, body = JSON.stringify({ n })): OutgoingNotification {
  return { entryId: `e${n}`, body, mailboxId: 'support', deduplicationKey: `key-${n}` };
}

describe('LocalNotifier', () => {
  let outDir: string;
  beforeEach(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'local-notifier-'));
  });
  afterEach(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  const lines = async () => (await readFile(path.join(outDir, NOTIFICATIONS_FILE_NAME), 'utf8')).split('\n');

  it('sends batches of up to 10, like SQS', () => {
    expect(new LocalNotifier({ outDir }).maxBatchSize).toBe(10);
  });

  it('appends each body as one line, batch after batch', async () => {
    const notifier = new LocalNotifier({ outDir: path.join(outDir, 'created-on-demand') });
    outDir = path.join(outDir, 'created-on-demand');

    expect(await notifier.send([notification(1), notification(2)])).toEqual([
      { entryId: 'e1', ok: true },
      { entryId: 'e2', ok: true },
    ]);
    expect(await notifier.send([notification(3)])).toEqual([{ entryId: 'e3', ok: true }]);

    expect(await lines()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}', '']);
  });

  it('keeps concurrent batches whole, one after the other', async () => {
    const notifier = new LocalNotifier({ outDir });
    const batchA = [1, 2, 3].map((n) =>
      notification(n, JSON.stringify({ batch: 'a', n, pad: 'a'.repeat(50_000) })),
    );
    const batchB = [4, 5, 6].map((n) =>
      notification(n, JSON.stringify({ batch: 'b', n, pad: 'b'.repeat(50_000) })),
    );

    await Promise.all([notifier.send(batchA), notifier.send(batchB)]);

    const written = (await lines()).filter(Boolean).map((line) => JSON.parse(line).n);
    expect(written).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses a body with a line break, and writes the rest of the batch', async () => {
    const notifier = new LocalNotifier({ outDir });
    const results = await notifier.send([notification(1, '{\n"n": 1}'), notification(2)]);
    expect(results).toEqual([
      { entryId: 'e1', ok: false, reason: 'body contains a line break' },
      { entryId: 'e2', ok: true },
    ]);
    expect(await lines()).toEqual(['{"n":2}', '']);
  });

  it('fails every entry, without throwing, when the file cannot be written', async () => {
    const notifier = new LocalNotifier({ outDir: path.join(outDir, NOTIFICATIONS_FILE_NAME, 'nested') });
    await new LocalNotifier({ outDir }).send([notification(0)]);
    const results = await notifier.send([notification(1), notification(2)]);
    expect(results).toEqual([
      { entryId: 'e1', ok: false, reason: expect.stringMatching(/appending to .* failed/) },
      { entryId: 'e2', ok: false, reason: expect.stringMatching(/appending to .* failed/) },
    ]);
  });
});
