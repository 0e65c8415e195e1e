/**
 * `npm run bench`: mailbox-poller against fetchmail, getmail6 and a raw pipelined drain on one local
 * Dovecot, then its size sweep, many mailboxes and Lambda bundles; results in BENCHMARKS.md.
 *
 *   npm run bench                      full run (≈ 10 min), writes BENCHMARKS.md
 *   npm run bench -- --smoke           ≈ 10 s, tiny counts, prints the report, writes nothing
 *   npm run bench -- --rerender        BENCHMARKS.md again from the last full run, with bench/notes.md as now
 *                                      (add --partial: the sections of the last partial run)
 *   npm run bench -- --scenario keep-state   only the keep-mode state (100,000 UIDLs), its section rewritten
 *   npm run bench -- --scenario fleet  the fleet alone (scenario 7); writes its section into BENCHMARKS.md and
 *                                      keeps every other section as it was
 *   npm run bench -- --scenario empty-poll   only an empty poll's round trips and time (section 10), this
 *                                      checkout against commit cd49f81 (--before COMMIT, or --before none)
 *   options: --write (smoke/partial runs too), --scenarios 1,3 (a subset; 6 = s3-path, 7 = fleet),
 *            --repetitions N, --no-wait; fleet: --mailboxes N, --workers M, --rtt MS, --batch-sizes 1,10;
 *            empty-poll: --rtt MS, --before COMMIT|none
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDovecotInstalled } from '../test/support/dovecot.ts';
import { buildBundles } from './bundles.ts';
import {
  type Contender,
  type ContenderId,
  fetchmailContender,
  getmailContender,
  pollerContender,
  pollerDiscardContender,
  rawDrainContender,
} from './contenders.ts';
import { contestUser } from './contest.ts';
import {
  EMPTY_POLL_HEADING,
  emptyPollSectionOf,
  renderEmptyPoll,
  withEmptyPollSection,
} from './empty-poll-report.ts';
import { startBenchEnvironment } from './environment.ts';
import { describeMachine, loadAverage, waitForQuiet } from './machine.ts';
import { BENCH_PLANS, type BenchPlan } from './plan.ts';
import { killAllChildren } from './process-runner.ts';
import { measuredHeadings, renderReport, spliceSections } from './report.ts';
import type { BenchResults } from './results.ts';
import { buildEmptyPollContenders, measureEmptyPolls } from './scenarios/empty-poll.ts';
import { fleetUsers } from './scenarios/fleet.ts';
import {
  keepStateSectionOf,
  measureKeepState,
  renderKeepState,
  withKeepStateSection,
} from './scenarios/keep-state.ts';
import { manyMailboxUsers, SINGLE_MAILBOX_USER } from './scenarios/many-mailboxes.ts';
import { measureScenarios } from './scenarios/measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, '.bench-tmp');
const REPORT = path.join(ROOT, 'BENCHMARKS.md');
/** The measurements behind the last BENCHMARKS.md, so that a change to the notes needs no new run. */
const LAST_RESULTS = path.join(WORK, 'last-results.json');
const NOTES = path.join(ROOT, 'bench', 'notes.md');
/** The measurements behind the last partial run's sections (`--rerender --partial` writes them again). */
const PARTIAL_RESULTS = path.join(WORK, 'last-partial-results.json');
const ALL_SCENARIOS = [1, 2, 3, 4, 5, 6, 7] as const;
const SCENARIO_NAMES: Record<string, number> = { 's3-path': 6, fleet: 7 };
const CONTENDER_IDS: readonly ContenderId[] = [
  'poller-s3',
  'poller-local',
  'poller-discard',
  'fetchmail',
  'getmail',
  'raw-drain',
];

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    scenarios: { type: 'string' },
    scenario: { type: 'string' },
    mailboxes: { type: 'string' },
    workers: { type: 'string' },
    rtt: { type: 'string' },
    'batch-sizes': { type: 'string' },
    repetitions: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
    rerender: { type: 'boolean', default: false },
    partial: { type: 'boolean', default: false },
    before: { type: 'string' },
  },
});
const readNotes = () => (fs.existsSync(NOTES) ? fs.readFileSync(NOTES, 'utf8') : '');
const clockStart = performance.now();
const log = (line: string) =>
  process.stderr.write(`[${((performance.now() - clockStart) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
const chosen = values.scenario ?? values.scenarios;
const scenarios = new Set(
  chosen ? chosen.split(',').map((name) => SCENARIO_NAMES[name] ?? Number(name)) : ALL_SCENARIOS,
);
const basePlan: BenchPlan = values.smoke ? BENCH_PLANS.smoke : BENCH_PLANS.full;
const plan: BenchPlan = {
  ...basePlan,
  repetitions: values.repetitions ? Number(values.repetitions) : basePlan.repetitions,
  fleet: {
    ...basePlan.fleet,
    ...(values.mailboxes ? { mailboxes: Number(values.mailboxes) } : {}),
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    ...(values.rtt ? { rttMs: Number(values.rtt) } : {}),
    ...(values['batch-sizes'] ? { batchSizes: values['batch-sizes'].split(',').map(Number) } : {}),
  },
  emptyPoll: {
    ...basePlan.emptyPoll,
    ...(values.rtt ? { rttMs: Number(values.rtt) } : {}),
    ...(values.repetitions ? { processes: Number(values.repetitions) } : {}),
    ...(values.before ? { beforeCommit: values.before === 'none' ? undefined : values.before } : {}),
  },
};
const SECTION_SCENARIOS = new Set(['keep-state', 'empty-poll']);
if (
  !SECTION_SCENARIOS.has(values.scenario ?? '') &&
  [...scenarios].some((n) => !(ALL_SCENARIOS as readonly number[]).includes(n))
) {
  throw new Error(
    `unknown scenario in "${chosen}" (known: ${ALL_SCENARIOS.join(', ')}, ${Object.keys(SCENARIO_NAMES).join(', ')}, ${[...SECTION_SCENARIOS].join(', ')})`,
  );
}
const everyScenario = ALL_SCENARIOS.every((n) => scenarios.has(n));
/** A run of only the fleet and/or the S3 path writes its sections into the existing BENCHMARKS.md. */
const onlyNewSections = [...scenarios].every((n) => n === 6 || n === 7);
const writeReport = values.write || (!values.smoke && (everyScenario || onlyNewSections));

// Every node child runs as a deployed poller would: without this sandbox's extra CA bundle, whose loading
// adds tens of milliseconds to each process start.
delete process.env.NODE_EXTRA_CA_CERTS;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130); // the Dovecot harness kills its instance on exit
  });
}

if (values.rerender) {
  const saved = JSON.parse(
    fs.readFileSync(values.partial ? PARTIAL_RESULTS : LAST_RESULTS, 'utf8'),
  ) as BenchResults;
  const results = {
    ...saved,
    startedAt: new Date(saved.startedAt),
    finishedAt: new Date(saved.finishedAt),
    notes: readNotes(),
  };
  // The keep-mode state and the empty poll are measured apart from the saved results: keep the sections
  // the report has.
  const previous = fs.existsSync(REPORT) ? fs.readFileSync(REPORT, 'utf8') : '';
  const keptSection = keepStateSectionOf(previous);
  const keptEmptyPoll = emptyPollSectionOf(previous);
  const fresh = renderReport(results);
  const withKeepState = keptSection ? withKeepStateSection(fresh, keptSection) : fresh;
  const rendered = keptEmptyPoll ? withEmptyPollSection(withKeepState, keptEmptyPoll) : withKeepState;
  fs.writeFileSync(
    REPORT,
    values.partial
      ? spliceSections(fs.readFileSync(REPORT, 'utf8'), rendered, measuredHeadings(results))
      : rendered,
  );
  log(
    `bench: rewrote ${path.relative(process.cwd(), REPORT)} from ${path.relative(process.cwd(), values.partial ? PARTIAL_RESULTS : LAST_RESULTS)}`,
  );
  process.exit(0);
}

if (values.scenario === 'keep-state') {
  log(
    `bench: keep-mode state only, load average ${loadAverage()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const section = renderKeepState(await measureKeepState(log));
  if (values.smoke) process.stdout.write(section);
  else {
    fs.writeFileSync(REPORT, withKeepStateSection(fs.readFileSync(REPORT, 'utf8'), section));
    log(`bench: rewrote the keep-mode state section of ${path.relative(process.cwd(), REPORT)}`);
  }
  process.exit(0);
}

/** Section 10: an empty poll's round trips, this checkout and plan.emptyPoll.beforeCommit, in one run. */
async function measureEmptyPollSection(): Promise<string> {
  ensureDovecotInstalled();
  const { contenders, before } = await buildEmptyPollContenders(ROOT, WORK, plan.emptyPoll.beforeCommit);
  log(`bench: ${EMPTY_POLL_HEADING.slice(3)} (${contenders.map((c) => c.code).join(', ')})`);
  return renderEmptyPoll(await measureEmptyPolls(plan.emptyPoll, contenders, before, loadAverage, log));
}

if (values.scenario === 'empty-poll') {
  log(
    `bench: empty poll only, load average ${loadAverage()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const section = await measureEmptyPollSection();
  if (values.smoke && !values.write) process.stdout.write(section);
  else {
    fs.writeFileSync(REPORT, withEmptyPollSection(fs.readFileSync(REPORT, 'utf8'), section));
    log(`bench: rewrote the empty-poll section of ${path.relative(process.cwd(), REPORT)}`);
  }
  process.exit(0);
}

const startedAt = new Date();
const loadAtStart = loadAverage();
log(
  `bench: ${values.smoke ? 'smoke run' : 'full run'}, load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`,
);
ensureDovecotInstalled();
if (!values.smoke)
  execFileSync('bash', [path.join(ROOT, 'scripts/ensure-bench-tools.sh')], { stdio: 'inherit' });
const machine = describeMachine();
log('bench: building the bundles');
const bundles = await buildBundles(ROOT, WORK, { forProfiling: plan.profile && scenarios.has(1) });
const users = [
  ...CONTENDER_IDS.map(contestUser),
  ...(scenarios.has(4) ? [...manyMailboxUsers(plan.many.mailboxes), SINGLE_MAILBOX_USER] : []),
  ...(scenarios.has(7) ? fleetUsers(plan.fleet.mailboxes) : []),
];
const env = await startBenchEnvironment(users, bundles.delayProxy);
try {
  const waited = values.smoke || values['no-wait'] ? 0 : await waitForQuiet(log);
  const loadAtMeasuring = loadAverage();
  const contenders: Contender[] = [
    pollerContender(bundles, env.aws),
    pollerContender(bundles, undefined),
    ...(machine.fetchmail ? [fetchmailContender()] : []),
    ...(machine.getmail ? [getmailContender()] : []),
    rawDrainContender(bundles),
    ...(plan.diagnostics ? [pollerDiscardContender(bundles)] : []),
  ];
  const measured = await measureScenarios({
    env,
    bundles,
    contenders,
    plan,
    scenarios,
    workDir: WORK,
    log,
  });
  const results: BenchResults = {
    ...measured,
    smoke: values.smoke,
    startedAt,
    finishedAt: new Date(),
    command: values.smoke ? 'npm run bench -- --smoke' : 'npm run bench',
    repetitions: plan.repetitions,
    machine,
    loadAtStart,
    loadAtMeasuring,
    loadAtEnd: loadAverage(),
    waitedForQuietSeconds: waited,
    notes: readNotes(),
  };
  // The keep-mode state and the empty poll are cheap (seconds, a minute): every full report carries them.
  const report = everyScenario
    ? withEmptyPollSection(
        withKeepStateSection(renderReport(results), renderKeepState(await measureKeepState(log))),
        await measureEmptyPollSection(),
      )
    : renderReport(results);
  if (writeReport && !everyScenario && fs.existsSync(REPORT)) {
    // Only some sections were measured: they replace their own sections, every other one stays.
    fs.writeFileSync(
      REPORT,
      spliceSections(fs.readFileSync(REPORT, 'utf8'), report, measuredHeadings(results)),
    );
    fs.mkdirSync(WORK, { recursive: true });
    // Added to the earlier partial runs' measurements: each section keeps the run it came from.
    const earlier = fs.existsSync(PARTIAL_RESULTS)
      ? JSON.parse(fs.readFileSync(PARTIAL_RESULTS, 'utf8'))
      : {};
    fs.writeFileSync(
      PARTIAL_RESULTS,
      JSON.stringify({ ...earlier, ...JSON.parse(JSON.stringify(results)) }, null, 2),
    );
    log(`bench: wrote the measured sections into ${path.relative(process.cwd(), REPORT)}`);
  } else if (writeReport) {
    fs.writeFileSync(REPORT, report);
    fs.writeFileSync(LAST_RESULTS, JSON.stringify(results, null, 2));
    log(`bench: wrote ${path.relative(process.cwd(), REPORT)}`);
  } else {
    process.stdout.write(report);
    log('bench: BENCHMARKS.md left as it was (smoke or partial run; --write to write it)');
  }
} finally {
  killAllChildren();
  await env.stop();
}
