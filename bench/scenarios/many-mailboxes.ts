/**
 * Scenario 4: one poller run over many small mailboxes, at the CLI's `--concurrency`, against the same
 * messages in a single mailbox. The difference, spread over the mailboxes, is what each mailbox costs on
 * top of its messages: a connection, a login, CAPA/UIDL/LIST, QUIT, and a Dovecot login process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MailboxOutcome } from '../../lib/pipeline/outcome.ts';
import type { ChildBundles } from '../bundles.ts';
import { type ContenderRun, pollerContender } from '../contenders.ts';
import { type ContenderResult, summarizeRuns } from '../contest.ts';
import type { BenchEnvironment } from '../environment.ts';
import { sha256Hex, syntheticMessages } from '../messages.ts';
import { median, type Summary, summarize } from '../stats.ts';
import { verifyRun } from '../verify.ts';

export interface ManyMailboxesSpec {
  readonly mailboxes: number;
  readonly messagesEach: number;
  readonly messageBytes: number;
  readonly concurrencies: readonly number[];
  readonly repetitions: number;
  readonly log: (line: string) => void;
}

export interface ManyMailboxesRow {
  /** undefined for the single-mailbox baseline. */
  readonly concurrency: number | undefined;
  readonly mailboxes: number;
  readonly result: ContenderResult;
  /** Per run, the median time one mailbox session took (its own durationMs); summarized over runs. */
  readonly sessionSeconds: Summary | undefined;
}

export interface ManyMailboxesResult {
  readonly spec: Omit<ManyMailboxesSpec, 'log'>;
  readonly rows: readonly ManyMailboxesRow[];
}

export const manyMailboxUsers = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `many-${String(i + 1).padStart(3, '0')}`);
export const SINGLE_MAILBOX_USER = 'many-all';

export async function runManyMailboxes(
  env: BenchEnvironment,
  bundles: ChildBundles,
  spec: ManyMailboxesSpec,
): Promise<ManyMailboxesResult> {
  const users = manyMailboxUsers(spec.mailboxes);
  const total = spec.mailboxes * spec.messagesEach;
  const messages = syntheticMessages(total, spec.messageBytes);
  const hashes = new Set(messages.map(sha256Hex));
  const setups = [
    { concurrency: undefined, users: [SINGLE_MAILBOX_USER] },
    ...spec.concurrencies.map((concurrency) => ({ concurrency, users })),
  ];
  const rows: ManyMailboxesRow[] = [];
  for (const setup of setups) {
    const runs: ContenderRun[] = [];
    const sessions: number[] = [];
    const contender = pollerContender(bundles, env.aws, { concurrency: setup.concurrency ?? 1 });
    for (let repetition = 0; repetition < spec.repetitions; repetition++) {
      const each = total / setup.users.length;
      for (const [index, user] of setup.users.entries()) {
        await env.dovecot.seed(user, messages.slice(index * each, (index + 1) * each));
      }
      env.resetAws();
      const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-bench-'));
      try {
        const accounts = setup.users.map((user) => env.account(user));
        const run = await contender.run(env.direct, accounts, workDir);
        const expect = { messages: total, hashes, readBackObjects: false };
        await verifyRun('poller-s3', run, expect, env, setup.users);
        runs.push(run);
        const outcomes = JSON.parse(run.process.stdout) as MailboxOutcome[];
        sessions.push(median(outcomes.map((outcome) => outcome.durationMs / 1000)));
        const what = setup.concurrency === undefined ? '1 mailbox' : `concurrency ${setup.concurrency}`;
        spec.log(`    ${what}: ${(run.process.wallMs / 1000).toFixed(2)} s`);
      } finally {
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    }
    rows.push({
      concurrency: setup.concurrency,
      mailboxes: setup.users.length,
      result: {
        id: 'poller-s3',
        label: contender.label,
        ...summarizeRuns(runs),
        requests: undefined,
        failedAttempts: [],
      },
      sessionSeconds: sessions.length > 0 ? summarize(sessions) : undefined,
    });
  }
  const { log: _log, ...rest } = spec;
  return { spec: rest, rows };
}
