/**
 * One contest: the same mailbox (N messages of one size) drained by each contender, each repetition
 * seeded afresh, on the same Dovecot, in an order that rotates every repetition so no contender always
 * runs first (cold caches) or last. Only verified runs are measured (see verify.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MailboxOutcome } from '../lib/pipeline/outcome.ts';
import type { Contender, ContenderId, ContenderRun, Pop3Endpoint } from './contenders.ts';
import type { RequestCounts } from './counting-proxy.ts';
import type { BenchEnvironment } from './environment.ts';
import { sha256Hex, syntheticMessages } from './messages.ts';
import { type Summary, summarize } from './stats.ts';
import { type Expectation, verifyRun } from './verify.ts';

export interface ContestSpec {
  readonly messages: number;
  readonly messageBytes: number;
  readonly endpoint: Pop3Endpoint;
  readonly contenders: readonly Contender[];
  readonly repetitions: number;
  /** Progress lines go here. */
  readonly log: (line: string) => void;
}

export interface ContenderResult {
  readonly id: ContenderId;
  readonly label: string;
  readonly seconds: Summary;
  /** User + system CPU seconds of the contender's processes. */
  readonly cpuSeconds: Summary | undefined;
  readonly peakRssMiB: Summary | undefined;
  /** mailbox-poller only: the poll itself as the poller timed it (connect to QUIT), without process start. */
  readonly pollSeconds: Summary | undefined;
  /** S3/SQS requests of the last run (the same every run). */
  readonly requests: RequestCounts | undefined;
  /** Runs that failed and were tried again (why, each). */
  readonly failedAttempts: readonly string[];
  /** Set when a run failed every attempt: the contender is then not measured at all. */
  readonly failure?: string;
}

export interface ContestResult {
  readonly messages: number;
  readonly messageBytes: number;
  readonly results: readonly ContenderResult[];
}

/** The Dovecot user a contender drains: one each, so no run can see another's leftovers. */
export const contestUser = (id: ContenderId): string => `bench-${id}`;

/**
 * A failed run is tried again, on a freshly seeded mailbox, up to this many times in all: getmail6 loses
 * a child-exit wakeup now and then ("waiting child pid … timed out") and gives up the whole run. Retries
 * are reported next to the numbers.
 */
const ATTEMPTS_PER_RUN = 3;

export async function runContest(env: BenchEnvironment, spec: ContestSpec): Promise<ContestResult> {
  const messages = syntheticMessages(spec.messages, spec.messageBytes);
  const hashes = new Set(messages.map(sha256Hex));
  const samples = new Map<ContenderId, ContenderRun[]>();
  const requests = new Map<ContenderId, RequestCounts>();
  const failures = new Map<ContenderId, string[]>();
  const gaveUp = new Set<ContenderId>();
  for (let repetition = 0; repetition < spec.repetitions; repetition++) {
    const shift = repetition % spec.contenders.length;
    const order = [...spec.contenders.slice(shift), ...spec.contenders.slice(0, shift)];
    for (const contender of order) {
      for (let attempt = 1; attempt <= ATTEMPTS_PER_RUN && !gaveUp.has(contender.id); attempt++) {
        const expect = { messages: spec.messages, hashes, readBackObjects: repetition === 0 };
        const outcome = await attemptRun(env, spec, contender, messages, expect);
        if ('run' in outcome) {
          samples.set(contender.id, [...(samples.get(contender.id) ?? []), outcome.run]);
          if (outcome.requests) requests.set(contender.id, outcome.requests);
          break;
        }
        failures.set(contender.id, [...(failures.get(contender.id) ?? []), outcome.failure]);
        if (attempt === ATTEMPTS_PER_RUN) gaveUp.add(contender.id);
      }
    }
  }
  return {
    messages: spec.messages,
    messageBytes: spec.messageBytes,
    results: spec.contenders.map((contender) => {
      const failed = failures.get(contender.id) ?? [];
      return {
        id: contender.id,
        label: contender.label,
        ...summarizeRuns(gaveUp.has(contender.id) ? [] : (samples.get(contender.id) ?? [])),
        requests: requests.get(contender.id),
        failedAttempts: failed,
        ...(gaveUp.has(contender.id) ? { failure: failed.at(-1) } : {}),
      };
    }),
  };
}

type Attempt = { run: ContenderRun; requests: RequestCounts | undefined } | { failure: string };

async function attemptRun(
  env: BenchEnvironment,
  spec: ContestSpec,
  contender: Contender,
  messages: Buffer[],
  expect: Expectation,
): Promise<Attempt> {
  const user = contestUser(contender.id);
  await env.dovecot.seed(user, messages);
  if (contender.id === 'poller-s3') env.resetAws();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-bench-'));
  try {
    const run = await contender.run(spec.endpoint, [env.account(user)], workDir);
    await verifyRun(contender.id, run, expect, env, [user]);
    spec.log(`    ${contender.label}: ${(run.process.wallMs / 1000).toFixed(2)} s`);
    return { run, requests: contender.id === 'poller-s3' ? env.requests.counts() : undefined };
  } catch (error) {
    const failure = error instanceof Error ? error.message : String(error);
    spec.log(`    ${contender.label}: FAILED ${failure}`);
    return { failure };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
    await env.dovecot.clear(user);
  }
}

/** Wall seconds, CPU seconds and peak RSS (MiB) of a contender's runs. */
export function summarizeRuns(
  runs: readonly ContenderRun[],
): Pick<ContenderResult, 'seconds' | 'cpuSeconds' | 'peakRssMiB' | 'pollSeconds'> {
  const cpu = runs.flatMap(({ process: p }) =>
    p.userSeconds === undefined || p.systemSeconds === undefined ? [] : [p.userSeconds + p.systemSeconds],
  );
  const rss = runs.flatMap(({ process: p }) => (p.maxRssKiB === undefined ? [] : [p.maxRssKiB / 1024]));
  const polls = runs.flatMap(({ process: p }) => {
    const longest = longestSessionSeconds(p.stdout);
    return longest === undefined ? [] : [longest];
  });
  return {
    seconds: summarize(runs.map(({ process: p }) => p.wallMs / 1000)),
    cpuSeconds: cpu.length === runs.length && cpu.length > 0 ? summarize(cpu) : undefined,
    peakRssMiB: rss.length === runs.length && rss.length > 0 ? summarize(rss) : undefined,
    pollSeconds: polls.length === runs.length && polls.length > 0 ? summarize(polls) : undefined,
  };
}

/** The longest mailbox session in the poller's `--json` report; undefined for other contenders. */
function longestSessionSeconds(stdout: string): number | undefined {
  if (!stdout.trimStart().startsWith('[')) return undefined;
  const outcomes = JSON.parse(stdout) as MailboxOutcome[];
  return outcomes.length === 0 ? undefined : Math.max(...outcomes.map((o) => o.durationMs)) / 1000;
}

export function resultOf(contest: ContestResult, id: ContenderId): ContenderResult | undefined {
  return contest.results.find((result) => result.id === id);
}
