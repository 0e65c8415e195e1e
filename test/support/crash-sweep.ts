/**
 * The shared driver of the crash sweeps (test/integration/crash-sweep.test.ts, crash-sweep-keep.test.ts):
 * a seeded fault plan, the proxy hooks that cut the POP3 connection after a command or inside a reply,
 * the S3 store and SQS notifier that fail before or after doing their work, the run loop that counts
 * outcomes, and the final checks both sweeps make on S3 and SQS.
 *
 * A sweep may add fault kinds of its own (keep mode adds state-store faults): it passes them as the type
 * parameter of FaultPlan and injects them itself, reading and clearing `plan.fault`.
 */
import { createHash } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { S3MessageStore } from '../../lib/adapters/s3-message-store.ts';
import { SqsNotifier } from '../../lib/adapters/sqs-notifier.ts';
import type { MailboxConfig } from '../../lib/config/types.ts';
import { Deadline } from '../../lib/deadline.ts';
import type { MailboxOutcome } from '../../lib/pipeline/outcome.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { type MessageStore, type Notifier, systemClock } from '../../lib/ports.ts';
import { loadCorpus, toCrlf } from './corpus.ts';
import { type DovecotServer, startDovecot } from './dovecot.ts';
import { type Fauxqs, startFauxqs } from './fauxqs.ts';
import { testMailbox } from './mailbox.ts';
import { servedByDovecot } from './served.ts';
import { type ChunkVerdict, startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export const MAX_RUNS = 250;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A deterministic random sequence, so a failure can be replayed (seed printed). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The faults every sweep injects. */
export type CoreFault =
  | { kind: 'none' }
  | { kind: 'cut-after-command'; command: string; occurrence: number }
  | { kind: 'cut-in-reply'; offset: number }
  | { kind: 'store'; probability: number }
  | { kind: 'notify'; probability: number };

/** A cut right after the given occurrence of each given command, in turn. */
export function commandCuts(steps: [command: string, occurrence: number][]): CoreFault[] {
  return steps.map(([command, occurrence]) => ({ kind: 'cut-after-command', command, occurrence }));
}

/**
 * The fault armed for the next run, the seeded random sequence, and a count of faults that actually
 * happened. A fault that happens once (a cut) disarms itself, so a test can check that it happened.
 */
export class FaultPlan<Extra extends { kind: string } = never> {
  fault: CoreFault | Extra = { kind: 'none' };
  injected = 0;
  readonly seed = Number(process.env.SWEEP_SEED ?? Date.now() % 100_000);
  readonly next = random(this.seed);

  /** Extra kinds never reuse a core kind, so a core kind names a core fault. */
  private get core(): CoreFault {
    return this.fault as CoreFault;
  }

  /** Proxy hook on the server's replies: cuts at the armed byte offset. */
  serverHook() {
    return (chunk: Buffer, before: number): ChunkVerdict => {
      const fault = this.core;
      if (fault.kind !== 'cut-in-reply') return 'pass';
      if (before + chunk.length <= fault.offset) return 'pass';
      this.injected++;
      const cutAt = fault.offset - before;
      this.fault = { kind: 'none' };
      return Math.max(0, cutAt);
    };
  }

  /** Counts command lines per connection; cuts after the wanted occurrence of the wanted command. */
  clientHook() {
    const seen = new Map<number, { partial: string; counts: Map<string, number> }>();
    return (chunk: Buffer, _before: number, connection: number): ChunkVerdict => {
      const fault = this.core;
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
          this.injected++;
          this.fault = { kind: 'none' };
          return lineStart - state.partial.length;
        }
      }
      state.partial = text.slice(lineStart);
      return 'pass';
    };
  }

  flakyStore(inner: MessageStore): MessageStore {
    return {
      put: async (message) => {
        const fault = this.core;
        if (fault.kind === 'store' && this.next() < fault.probability) {
          this.injected++;
          if (this.next() < 0.5) throw new Error('injected: S3 unavailable before the write');
          await inner.put(message);
          throw new Error('injected: S3 wrote the object, but the response was lost');
        }
        return inner.put(message);
      },
    };
  }

  flakyNotifier(inner: Notifier): Notifier {
    return {
      maxBatchSize: inner.maxBatchSize,
      send: async (batch) => {
        const fault = this.core;
        if (fault.kind === 'notify' && this.next() < fault.probability) {
          this.injected++;
          if (this.next() < 0.5) throw new Error('injected: SQS unavailable');
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
}

export interface SweepRig {
  dovecot: DovecotServer;
  aws: Fauxqs;
  /** Between the poller and Dovecot, cutting where the plan says. */
  proxy: TcpProxy;
  stop(): Promise<void>;
}

/** Dovecot with one user (password 'pw'), fauxqs, and the cutting proxy in front of Dovecot. */
export async function startSweepRig(user: string, plan: FaultPlan<{ kind: string }>): Promise<SweepRig> {
  const [dovecot, aws] = await Promise.all([
    startDovecot({ users: [{ name: user, password: 'pw' }] }),
    startFauxqs(),
  ]);
  const proxy = await startTcpProxy({
    target: { host: dovecot.host, port: dovecot.pop3Port },
    onClientData: plan.clientHook(),
    onServerData: plan.serverHook(),
  });
  return {
    dovecot,
    aws,
    proxy,
    stop: async () => {
      await Promise.all([proxy.close(), dovecot.stop(), aws.stop()]);
    },
  };
}

/** Two disjoint sets of corpus messages, one per round, each of at least `atLeast` messages. */
export function corpusRounds(messages: number, atLeast: number): [Buffer[], Buffer[]] {
  const corpus = loadCorpus().map((m) => toCrlf(m.bytes));
  const rounds: [Buffer[], Buffer[]] = [
    corpus.filter((_, i) => i % 3 === 0).slice(0, messages),
    corpus.filter((_, i) => i % 3 === 1).slice(0, messages),
  ];
  for (const round of rounds) expect(round.length).toBeGreaterThanOrEqual(atLeast);
  return rounds;
}

type Ports = Parameters<typeof pollMailbox>[1];

/**
 * What a sweep polls into: the bucket `user` and the queue `user-notifications` on fauxqs, the flaky S3
 * store and SQS notifier (no SQS retries, so every injected failure reaches the pipeline), and the
 * mailbox of `user` behind the proxy, logging in with USER/PASS so that those commands, too, are cut after.
 * The store's client sees S3's conditional writes (412 on a taken key), so a message stored again takes
 * the path it takes on S3: the object is left as the first run wrote it.
 */
export async function sweepTarget(
  rig: SweepRig,
  plan: FaultPlan<{ kind: string }>,
  user: string,
  mailboxOverrides: Parameters<typeof testMailbox>[0] = {},
) {
  const { aws, proxy } = rig;
  await aws.createBucket(user);
  const queueUrl = await aws.createQueue(`${user}-notifications`);
  const storeClient = new S3Client({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: { accessKeyId: aws.env.AWS_ACCESS_KEY_ID!, secretAccessKey: aws.env.AWS_SECRET_ACCESS_KEY! },
    forcePathStyle: true,
  });
  aws.emulateConditionalWrites(storeClient);
  const ports = {
    store: plan.flakyStore(new S3MessageStore({ client: storeClient, bucket: user })),
    notifier: plan.flakyNotifier(new SqsNotifier({ client: aws.sqs, queueUrl, retries: 0 })),
    credentials: new ConfigCredentialsProvider(),
    clock: systemClock,
  };
  const mailbox = testMailbox({
    id: user,
    port: proxy.port,
    username: user,
    credential: { literal: 'pw' },
    auth: 'user',
    ...mailboxOverrides,
  });
  return { queueUrl, ports, mailbox };
}

/**
 * One poller run per call, counted, with the outcome's status tallied; no run may fail to log in.
 * `verbose` gives what SWEEP_VERBOSE prints for a run after its number, the armed fault and the status.
 */
export function sweepPoller(
  mailbox: MailboxConfig,
  ports: Ports,
  plan: FaultPlan<{ kind: string }>,
  verbose: (outcome: MailboxOutcome) => unknown[],
) {
  const stats = { runs: 0, statuses: new Map<string, number>() };
  const poll = async (limits: { maxMessagesPerRun?: number } = {}): Promise<MailboxOutcome> => {
    const outcome = await pollMailbox(
      { ...mailbox, limits: { ...mailbox.limits, ...limits } },
      ports,
      Deadline.after(60_000),
      { timeouts: { idleMs: 5_000 } },
    );
    stats.runs++;
    if (process.env.SWEEP_VERBOSE)
      console.log(stats.runs, JSON.stringify(plan.fault), outcome.status, ...verbose(outcome));
    stats.statuses.set(outcome.status, (stats.statuses.get(outcome.status) ?? 0) + 1);
    expect(outcome.status, outcome.message).not.toBe('auth-failed');
    return outcome;
  };
  return { poll, stats };
}

/**
 * Every seeded message is in the bucket byte-identical (as Dovecot serves it), exactly once, and the
 * queue holds at least one notification per object and none for an object that does not exist; the
 * notifications of one object, when it was notified again, are one body byte for byte.
 * Keys under `ignoredPrefixes` (staging, state) are not message objects.
 */
export async function expectEachMessageStoredOnceAndNotified(options: {
  aws: Fauxqs;
  bucket: string;
  queueUrl: string;
  seeded: Buffer[];
  ignoredPrefixes: string[];
}): Promise<void> {
  const { aws, bucket, queueUrl, seeded, ignoredPrefixes } = options;
  const keys = (await aws.listKeys(bucket)).filter(
    (key) => !ignoredPrefixes.some((prefix) => key.startsWith(prefix)),
  );
  const objects = new Map<string, string>();
  for (const key of keys) objects.set(key, sha256(await aws.getObject(bucket, key)));
  const expected = seeded.map((bytes) => sha256(servedByDovecot(bytes)));
  // Every message, byte-identical, exactly once (no duplicate object, none missing).
  expect([...objects.values()].sort()).toEqual(expected.sort());

  const notified = new Map<string, Set<string>>();
  for (const received of await aws.receiveAll(queueUrl)) {
    const key = JSON.parse(received.Body!).receipt.action.objectKey as string;
    notified.set(key, (notified.get(key) ?? new Set()).add(received.Body!));
  }
  // At least one notification per object, and none for an object that does not exist.
  expect([...notified.keys()].sort()).toEqual([...objects.keys()].sort());
  // One body per object: a notification sent again after an interruption is the first one.
  const differing = [...notified].filter(([, bodies]) => bodies.size > 1).map(([key]) => key);
  expect(differing, 'objects whose notifications differ').toEqual([]);
}
