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
import { afterAll, beforeAll, expect, test } from 'vitest';
import { S3StateStore } from '../../lib/adapters/s3-state-store.ts';
import type { MailboxStateStore } from '../../lib/ports.ts';
import { describeWithCorpus } from '../support/corpus.ts';
import {
  type CoreFault,
  commandCuts,
  corpusRounds,
  expectEachMessageStoredOnceAndNotified,
  FaultPlan,
  MAX_RUNS,
  type SweepRig,
  startSweepRig,
  sweepPoller,
  sweepTarget,
} from '../support/crash-sweep.ts';

const MESSAGES = 40;

/** The ways the keep-mode state store fails, on top of the faults every sweep injects. */
type StateFault = { kind: 'state-load' } | { kind: 'state-save'; written: boolean };
type Fault = CoreFault | StateFault;

/** Every step of a keep-mode session in turn (there is no DELE), then each way the state can fail. */
const FIXED_FAULTS: Fault[] = [
  ...commandCuts([
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
  ]),
  { kind: 'state-load' },
  { kind: 'state-save', written: false },
  { kind: 'state-save', written: true },
];

describeWithCorpus('crash-point sweep in keep mode', () => {
  let rig: SweepRig;
  const plan = new FaultPlan<StateFault>();
  const { seed, next } = plan;

  beforeAll(async () => {
    rig = await startSweepRig('keep', plan);
  });
  afterAll(async () => {
    await rig?.stop();
  });

  function flakyState(inner: MailboxStateStore): MailboxStateStore {
    return {
      async load(mailboxId, options) {
        if (plan.fault.kind === 'state-load') {
          plan.injected++;
          plan.fault = { kind: 'none' };
          throw new Error('injected: S3 unavailable while reading the state');
        }
        return inner.load(mailboxId, options);
      },
      async save(mailboxId, state, version, options) {
        const fault = plan.fault;
        if (fault.kind === 'state-save') {
          plan.injected++;
          const { written } = fault;
          plan.fault = { kind: 'none' };
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
    const { dovecot, aws } = rig;
    const rounds = corpusRounds(MESSAGES, 30);
    const seeded = rounds.flat();
    const target = await sweepTarget(rig, plan, 'keep', {
      keep: { deleteAfterDays: undefined, initial: 'all' },
    });
    const { queueUrl, mailbox } = target;
    const ports = {
      ...target.ports,
      stateStore: flakyState(new S3StateStore({ client: aws.s3, bucket: 'keep' })),
    };
    const sweep = sweepPoller(mailbox, ports, plan, (outcome) => [
      outcome.reason,
      JSON.stringify(outcome.keep),
    ]);
    const { stats } = sweep;
    const poll = async (limits: { maxMessagesPerRun?: number } = {}) => {
      const outcome = await sweep.poll(limits);
      expect(outcome.counts.deleted).toBe(0);
      return outcome;
    };
    /** Runs without faults until one ends ok with nothing new: every message is in the state. */
    const settle = async (limits: { maxMessagesPerRun?: number } = {}) => {
      plan.fault = { kind: 'none' };
      for (;;) {
        expect(stats.runs, `not settled after ${MAX_RUNS} runs (seed ${seed})`).toBeLessThan(MAX_RUNS);
        const outcome = await poll(limits);
        if (outcome.status === 'ok' && outcome.keep?.ingested === 0) return;
      }
    };

    // Round 1: every step of a session in turn, then the state failing each way.
    await dovecot.seed('keep', rounds[0]);
    for (const planned of FIXED_FAULTS) {
      plan.fault = planned;
      await poll();
      expect(plan.fault, `the fault ${JSON.stringify(planned)} never happened`).toEqual({
        kind: 'none',
      });
    }
    await settle();

    // Round 2: new mail arrives; random cuts inside replies, S3, SQS and state failures, a few messages per run.
    await dovecot.seed('keep', rounds[1]);
    for (let chaos = 0; chaos < 40; chaos++) {
      plan.fault = randomFault();
      await poll({ maxMessagesPerRun: 5 });
    }
    await settle({ maxMessagesPerRun: 5 });
    console.log(
      `keep-mode crash sweep (seed ${seed}): ${seeded.length} messages, ${stats.runs} runs, ${plan.injected} injected faults, ` +
        `outcomes ${JSON.stringify(Object.fromEntries(stats.statuses))}`,
    );
    expect(plan.injected).toBeGreaterThanOrEqual(FIXED_FAULTS.length);

    // Nothing was deleted: the server holds every message it was given.
    expect(await dovecot.messageCount('keep')).toBe(seeded.length);
    await expectEachMessageStoredOnceAndNotified({
      aws,
      bucket: 'keep',
      queueUrl,
      seeded,
      ignoredPrefixes: ['.incoming/', '.state/'],
    });
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
