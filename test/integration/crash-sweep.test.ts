/**
 * The headline test: a mailbox of corpus messages is drained while everything that can fail, fails.
 *
 * A proxy between the poller and a real Dovecot cuts the connection right after each kind of command
 * reaches the server (CAPA, USER, PASS, UIDL, LIST, the n-th RETR, the n-th DELE, QUIT: the server then
 * commits but the poller never hears so), and at random byte offsets inside the server's replies. The
 * S3 store and the SQS notifier (real adapters on fauxqs) fail at random, both before doing their work and
 * after it (work done, success never reported). The poller runs again and again until the mailbox is
 * empty. Then every original message must be in S3 byte-identical, exactly once, with at least one
 * notification, and no notification may point at an object that does not exist.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MessageStore, Notifier } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { servedByDovecot } from '../support/served.ts';
import { type ChunkVerdict, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const MESSAGES = 60;
const MAX_RUNS = 250;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A deterministic random sequence, so a failure can be replayed (seed printed). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Fault =
  | { kind: 'none' }
  | { kind: 'cut-after-command'; command: string; occurrence: number }
  | { kind: 'cut-in-reply'; offset: number }
  | { kind: 'store'; probability: number }
  | { kind: 'notify'; probability: number };

/** Cut right after each kind of command, in turn: every step of a session. */
const COMMAND_CUTS: Fault[] = [
  ['CAPA', 1],
  ['USER', 1],
  ['PASS', 1],
  ['CAPA', 2],
  ['UIDL', 1],
  ['LIST', 1],
  ['RETR', 1],
  ['RETR', 7],
  ['RETR', 30],
  ['DELE', 1],
  ['DELE', 12],
  ['DELE', 40],
  ['QUIT', 1],
].map(([command, occurrence]) => ({
  kind: 'cut-after-command',
  command: String(command),
  occurrence: Number(occurrence),
}));

describeWithCorpus('crash-point sweep', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let proxy: TcpProxy;
  let fault: Fault = { kind: 'none' };
  let injected = 0;
  const seed = Number(process.env.SWEEP_SEED ?? Date.now() % 100_000);
  const next = random(seed);

  beforeAll(async () => {
    [dovecot, aws] = await Promise.all([
      startDovecot({ users: [{ name: 'sweep', password: 'pw' }] }),
      startFauxqs(),
    ]);
    proxy = await startTcpProxy({
      target: { host: dovecot.host, port: dovecot.pop3Port },
      onClientData: clientHook(),
      onServerData: (chunk, before) => {
        if (fault.kind !== 'cut-in-reply') return 'pass';
        if (before + chunk.length <= fault.offset) return 'pass';
        injected++;
        const cutAt = fault.offset - before;
        fault = { kind: 'none' };
        return Math.max(0, cutAt);
      },
    });
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), dovecot?.stop(), aws?.stop()]);
  });

  /** Counts command lines per connection; cuts after the wanted occurrence of the wanted command. */
  function clientHook() {
    const seen = new Map<number, { partial: string; counts: Map<string, number> }>();
    return (chunk: Buffer, _before: number, connection: number): ChunkVerdict => {
      if (fault.kind !== 'cut-after-command') return 'pass';
      const state = seen.get(connection) ?? { partial: '', counts: new Map() };
      seen.set(connection, state);
      const text = state.partial + chunk.toString('latin1');
      let lineStart = 0;
      for (let end = text.indexOf('\r\n'); end !== -1; end = text.indexOf('\r\n', lineStart)) {
        const keyword = text.slice(lineStart, end).split(' ', 1)[0]!.toUpperCase();
        lineStart = end + 2;
        const count = (state.counts.get(keyword) ?? 0) + 1;
        state.counts.set(keyword, count);
        if (keyword === fault.command && count === fault.occurrence) {
          injected++;
          fault = { kind: 'none' };
          return lineStart - state.partial.length;
        }
      }
      state.partial = text.slice(lineStart);
      return 'pass';
    };
  }

  function flakyStore(inner: MessageStore): MessageStore {
    return {
      async put(message) {
        if (fault.kind === 'store' && next() < fault.probability) {
          injected++;
          if (next() < 0.5) throw new Error('injected: S3 unavailable before the write');
          await inner.put(message);
          throw new Error('injected: S3 wrote the object, but the response was lost');
        }
        return inner.put(message);
      },
    };
  }

  function flakyNotifier(inner: Notifier): Notifier {
    return {
      maxBatchSize: inner.maxBatchSize,
      async send(batch) {
        if (fault.kind === 'notify' && next() < fault.probability) {
          injected++;
          if (next() < 0.5) throw new Error('injected: SQS unavailable');
          const results = await inner.send(batch);
          return results.map((r) => ({
            entryId: r.entryId,
            ok: false as const,
            reason: 'injected: reply lost',
          }));
        }
        return inner.send(batch);
      },
    };
  }

  test('nothing lost, nothing altered, no duplicate object, whatever fails', {
    timeout: 600_000,
  }, async () => {
    // Two disjoint sets of corpus messages: one for the cut-after-each-command round, one for random chaos.
    const corpus = loadCorpus().map((m) => toCrlf(m.bytes));
    const rounds = [
      corpus.filter((_, i) => i % 3 === 0).slice(0, MESSAGES),
      corpus.filter((_, i) => i % 3 === 1).slice(0, MESSAGES),
    ];
    for (const round of rounds) expect(round.length).toBeGreaterThanOrEqual(50);
    const seeded = rounds.flat();
    await aws.createBucket('sweep');
    const queueUrl = await aws.createQueue('sweep-notifications');
    const ports = {
      store: flakyStore(new S3MessageStore({ client: aws.s3, bucket: 'sweep' })),
      notifier: flakyNotifier(new SqsNotifier({ client: aws.sqs, queueUrl, retries: 0 })),
      credentials: new ConfigCredentialsProvider(),
      clock: systemClock,
    };
    // USER/PASS so that those commands, too, are cut after.
    const mailbox = testMailbox({
      id: 'sweep',
      port: proxy.port,
      username: 'sweep',
      password: { literal: 'pw' },
      auth: 'user',
    });
    let runs = 0;
    const statuses = new Map<string, number>();
    const poll = async (limits: { maxMessagesPerRun?: number } = {}) => {
      const outcome = await pollMailbox(
        { ...mailbox, limits: { ...mailbox.limits, ...limits } },
        ports,
        Deadline.after(60_000),
        { timeouts: { idleMs: 5_000 } },
      );
      runs++;
      if (process.env.SWEEP_VERBOSE)
        console.log(
          runs,
          JSON.stringify(fault),
          outcome.status,
          outcome.reason,
          outcome.message,
          JSON.stringify(outcome.counts),
        );
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      expect(outcome.status, outcome.message).not.toBe('auth-failed');
    };

    // Round 1: every step of a session in turn (QUIT last: the server commits, the poller never hears).
    await dovecot.seed('sweep', rounds[0]!);
    for (const cut of COMMAND_CUTS) {
      fault = cut;
      await poll();
      expect(fault, `the cut after ${JSON.stringify(cut)} never happened`).toEqual({ kind: 'none' });
    }
    fault = { kind: 'none' };
    while ((await dovecot.messageCount('sweep')) > 0) await poll();

    // Round 2: random cuts inside replies, S3 and SQS failures, until the mailbox is empty. A few
    // messages per run, so that many runs (and faults) are needed.
    await dovecot.seed('sweep', rounds[1]!);
    const round2Start = runs;
    while ((await dovecot.messageCount('sweep')) > 0) {
      expect(runs, `mailbox not empty after ${MAX_RUNS} runs (seed ${seed})`).toBeLessThan(MAX_RUNS);
      fault = randomFault(runs - round2Start);
      await poll({ maxMessagesPerRun: 5 });
    }
    fault = { kind: 'none' };
    console.log(
      `crash sweep (seed ${seed}): ${seeded.length} messages, ${runs} runs, ${injected} injected faults, ` +
        `outcomes ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(injected).toBeGreaterThanOrEqual(COMMAND_CUTS.length);

    const keys = (await aws.listKeys('sweep')).filter((key) => !key.startsWith('.incoming/'));
    const objects = new Map<string, string>();
    for (const key of keys) objects.set(key, sha256(await aws.getObject('sweep', key)));
    const expected = seeded.map((bytes) => sha256(servedByDovecot(bytes)));
    // Every original message, byte-identical, exactly once (no duplicate object, none missing).
    expect([...objects.values()].sort()).toEqual(expected.sort());

    const notified = new Map<string, number>();
    for (const received of await aws.receiveAll(queueUrl)) {
      const key = JSON.parse(received.Body!).receipt.action.objectKey as string;
      notified.set(key, (notified.get(key) ?? 0) + 1);
    }
    // At least one notification per object, and none for an object that does not exist.
    expect([...notified.keys()].sort()).toEqual([...objects.keys()].sort());
  });

  function randomFault(run: number): Fault {
    // After enough chaos, let the mailbox drain so the test ends.
    if (run >= 60) return { kind: 'none' };
    const roll = next();
    if (roll < 0.45) return { kind: 'cut-in-reply', offset: Math.floor(next() * 150_000) };
    if (roll < 0.75) return { kind: 'store', probability: 0.25 };
    return { kind: 'notify', probability: 0.5 };
  }
});
