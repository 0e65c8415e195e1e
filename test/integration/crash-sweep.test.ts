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
import { afterAll, beforeAll, expect, test } from 'vitest';
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

const MESSAGES = 60;

/** Cut right after each kind of command, in turn: every step of a session. */
const COMMAND_CUTS = commandCuts([
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
]);

describeWithCorpus('crash-point sweep', () => {
  let rig: SweepRig;
  const plan = new FaultPlan();
  const { seed, next } = plan;

  beforeAll(async () => {
    rig = await startSweepRig('sweep', plan);
  });
  afterAll(async () => {
    await rig?.stop();
  });

  test('nothing lost, nothing altered, no duplicate object, whatever fails', {
    timeout: 600_000,
  }, async () => {
    const { dovecot, aws } = rig;
    // Two disjoint sets of corpus messages: one for the cut-after-each-command round, one for random chaos.
    const rounds = corpusRounds(MESSAGES, 50);
    const seeded = rounds.flat();
    const { queueUrl, ports, mailbox } = await sweepTarget(rig, plan, 'sweep');
    const { poll, stats } = sweepPoller(mailbox, ports, plan, (outcome) => [
      outcome.reason,
      outcome.message,
      JSON.stringify(outcome.counts),
    ]);

    // Round 1: every step of a session in turn (QUIT last: the server commits, the poller never hears).
    await dovecot.seed('sweep', rounds[0]);
    for (const cut of COMMAND_CUTS) {
      plan.fault = cut;
      await poll();
      expect(plan.fault, `the cut after ${JSON.stringify(cut)} never happened`).toEqual({
        kind: 'none',
      });
    }
    plan.fault = { kind: 'none' };
    while ((await dovecot.messageCount('sweep')) > 0) await poll();

    // Round 2: random cuts inside replies, S3 and SQS failures, until the mailbox is empty. A few
    // messages per run, so that many runs (and faults) are needed.
    await dovecot.seed('sweep', rounds[1]);
    const round2Start = stats.runs;
    while ((await dovecot.messageCount('sweep')) > 0) {
      expect(stats.runs, `mailbox not empty after ${MAX_RUNS} runs (seed ${seed})`).toBeLessThan(MAX_RUNS);
      plan.fault = randomFault(stats.runs - round2Start);
      await poll({ maxMessagesPerRun: 5 });
    }
    plan.fault = { kind: 'none' };
    console.log(
      `crash sweep (seed ${seed}): ${seeded.length} messages, ${stats.runs} runs, ${plan.injected} injected faults, ` +
        `outcomes ${JSON.stringify(Object.fromEntries(stats.statuses))}`,
    );
    expect(plan.injected).toBeGreaterThanOrEqual(COMMAND_CUTS.length);

    await expectEachMessageStoredOnceAndNotified({
      aws,
      bucket: 'sweep',
      queueUrl,
      seeded,
      ignoredPrefixes: ['.incoming/'],
    });
  });

  function randomFault(run: number): CoreFault {
    // After enough chaos, let the mailbox drain so the test ends.
    if (run >= 60) return { kind: 'none' };
    const roll = next();
    if (roll < 0.45) return { kind: 'cut-in-reply', offset: Math.floor(next() * 150_000) };
    if (roll < 0.75) return { kind: 'store', probability: 0.25 };
    return { kind: 'notify', probability: 0.5 };
  }
});
