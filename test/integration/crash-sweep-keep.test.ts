/**
 * The crash sweep of test/integration/crash-sweep.test.ts in keep mode: a mailbox of corpus messages is
 * ingested and kept while everything that can fail, fails.
 *
 * A proxy between the poller and a real Dovecot cuts the connection right after each kind of command
 * reaches the server and at random byte offsets inside the server's replies. The S3 store and the SQS
 * notifier (real adapters on fauxqs) fail at random, before doing their work and after it (work done,
 * success never reported), and so does the S3 state store: a load that fails, a save that fails, and a
 * save that was written but whose answer was lost. The poller runs again and again until a run without
 * faults finds nothing new. Then every message on the server must be in S3 byte-identical, exactly once,
 * with at least one notification, no notification may point at an object that does not exist, and the
 * server must still hold every message (keep mode never deletes without deleteAfterDays).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { S3StateStore } from '../../lib/adapters/s3-state-store.ts';
import { SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { MailboxOutcome } from '../../lib/pipeline/outcome.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { MailboxStateStore, MessageStore, Notifier } from '../../lib/ports.ts';
import { systemClock } from '../../lib/ports.ts';
import { describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { servedByDovecot } from '../support/served.ts';
import { type ChunkVerdict, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const MESSAGES = 40;
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
  | { kind: 'notify'; probability: number }
  | { kind: 'state-load' }
  | { kind: 'state-save'; written: boolean };

/** Every step of a keep-mode session in turn (there is no DELE), then each way the state can fail. */
const FIXED_FAULTS: Fault[] = [
  ...[
    ['CAPA', 1],
    ['USER', 1],
    ['PASS', 1],
    ['CAPA', 2],
    ['UIDL', 1],
    ['LIST', 1],
    ['RETR', 1],
    ['RETR', 7],
    ['RETR', 30],
    ['QUIT', 1],
  ].map(
    ([command, occurrence]): Fault => ({
      kind: 'cut-after-command',
      command: String(command),
      occurrence: Number(occurrence),
    }),
  ),
  { kind: 'state-load' },
  { kind: 'state-save', written: false },
  { kind: 'state-save', written: true },
];

describeWithCorpus('crash-point sweep in keep mode', () => {
  let dovecot: DovecotServer;
  let aws: Fauxqs;
  let proxy: TcpProxy;
  let fault: Fault = { kind: 'none' };
  let injected = 0;
  const seed = Number(process.env.SWEEP_SEED ?? Date.now() % 100_000);
  const next = random(seed);

  beforeAll(async () => {
    [dovecot, aws] = await Promise.all([
      startDovecot({ users: [{ name: 'keep', password: 'pw' }] }),
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

  function flakyState(inner: MailboxStateStore): MailboxStateStore {
    return {
      async load(mailboxId, options) {
        if (fault.kind === 'state-load') {
          injected++;
          fault = { kind: 'none' };
          throw new Error('injected: S3 unavailable while reading the state');
        }
        return inner.load(mailboxId, options);
      },
      async save(mailboxId, state, version, options) {
        if (fault.kind === 'state-save') {
          injected++;
          const { written } = fault;
          fault = { kind: 'none' };
          if (written) await inner.save(mailboxId, state, version, options);
          throw new Error(
            `injected: state ${written ? 'written, but the response was lost' : 'not written'}`,
          );
        }
        return inner.save(mailboxId, state, version, options);
      },
    };
  }

  test('nothing lost, nothing altered, no duplicate object, nothing deleted, whatever fails', {
    timeout: 600_000,
  }, async () => {
    const corpus = loadCorpus().map((m) => toCrlf(m.bytes));
    const rounds = [
      corpus.filter((_, i) => i % 3 === 0).slice(0, MESSAGES),
      corpus.filter((_, i) => i % 3 === 1).slice(0, MESSAGES),
    ];
    for (const round of rounds) expect(round.length).toBeGreaterThanOrEqual(30);
    const seeded = rounds.flat();
    await aws.createBucket('keep');
    const queueUrl = await aws.createQueue('keep-notifications');
    const ports = {
      store: flakyStore(new S3MessageStore({ client: aws.s3, bucket: 'keep' })),
      notifier: flakyNotifier(new SqsNotifier({ client: aws.sqs, queueUrl, retries: 0 })),
      credentials: new ConfigCredentialsProvider(),
      clock: systemClock,
      stateStore: flakyState(new S3StateStore({ client: aws.s3, bucket: 'keep' })),
    };
    const mailbox = testMailbox({
      id: 'keep',
      port: proxy.port,
      username: 'keep',
      password: { literal: 'pw' },
      auth: 'user',
      keep: { deleteAfterDays: undefined, initial: 'all' },
    });
    let runs = 0;
    const statuses = new Map<string, number>();
    const poll = async (limits: { maxMessagesPerRun?: number } = {}): Promise<MailboxOutcome> => {
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
          JSON.stringify(outcome.keep),
        );
      statuses.set(outcome.status, (statuses.get(outcome.status) ?? 0) + 1);
      expect(outcome.status, outcome.message).not.toBe('auth-failed');
      expect(outcome.counts.deleted).toBe(0);
      return outcome;
    };
    /** Runs without faults until one ends ok with nothing new: every message is in the state. */
    const settle = async (limits: { maxMessagesPerRun?: number } = {}) => {
      fault = { kind: 'none' };
      for (;;) {
        expect(runs, `not settled after ${MAX_RUNS} runs (seed ${seed})`).toBeLessThan(MAX_RUNS);
        const outcome = await poll(limits);
        if (outcome.status === 'ok' && outcome.keep?.ingested === 0) return;
      }
    };

    // Round 1: every step of a session in turn, then the state failing each way.
    await dovecot.seed('keep', rounds[0]!);
    for (const planned of FIXED_FAULTS) {
      fault = planned;
      await poll();
      expect(fault, `the fault ${JSON.stringify(planned)} never happened`).toEqual({ kind: 'none' });
    }
    await settle();

    // Round 2: new mail arrives; random cuts inside replies, S3, SQS and state failures, a few messages per run.
    await dovecot.seed('keep', rounds[1]!);
    for (let chaos = 0; chaos < 40; chaos++) {
      fault = randomFault();
      await poll({ maxMessagesPerRun: 5 });
    }
    await settle({ maxMessagesPerRun: 5 });
    console.log(
      `keep-mode crash sweep (seed ${seed}): ${seeded.length} messages, ${runs} runs, ${injected} injected faults, ` +
        `outcomes ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(injected).toBeGreaterThanOrEqual(FIXED_FAULTS.length);

    // Nothing was deleted: the server holds every message it was given.
    expect(await dovecot.messageCount('keep')).toBe(seeded.length);
    const keys = (await aws.listKeys('keep')).filter(
      (key) => !key.startsWith('.incoming/') && !key.startsWith('.state/'),
    );
    const objects = new Map<string, string>();
    for (const key of keys) objects.set(key, sha256(await aws.getObject('keep', key)));
    const expected = seeded.map((bytes) => sha256(servedByDovecot(bytes)));
    // Every message, byte-identical, exactly once (no duplicate object, none missing).
    expect([...objects.values()].sort()).toEqual(expected.sort());

    const notified = new Map<string, number>();
    for (const received of await aws.receiveAll(queueUrl)) {
      const key = JSON.parse(received.Body!).receipt.action.objectKey as string;
      notified.set(key, (notified.get(key) ?? 0) + 1);
    }
    // At least one notification per object, and none for an object that does not exist.
    expect([...notified.keys()].sort()).toEqual([...objects.keys()].sort());
    // The state holds exactly the messages on the server.
    const state = await new S3StateStore({ client: aws.s3, bucket: 'keep' }).load('keep');
    expect(state?.state.messages).toHaveLength(seeded.length);
  });

  function randomFault(): Fault {
    const roll = next();
    if (roll < 0.35) return { kind: 'cut-in-reply', offset: Math.floor(next() * 150_000) };
    if (roll < 0.6) return { kind: 'store', probability: 0.25 };
    if (roll < 0.8) return { kind: 'notify', probability: 0.5 };
    if (roll < 0.9) return { kind: 'state-load' };
    return { kind: 'state-save', written: next() < 0.5 };
  }
});
