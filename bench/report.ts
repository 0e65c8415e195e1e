/** Renders the results as BENCHMARKS.md: targets first, then a table per scenario, then the notes. */
import type { ContenderResult, ContestResult } from './contest.ts';
import {
  ARITHMETIC_HEADING,
  arithmeticSection,
  FLEET_HEADING,
  fleetSection,
  S3_PATH_HEADING,
  s3PathSection,
} from './fleet-report.ts';
import { percent, rate, resources, seconds, table } from './markdown.ts';
import { methodSection } from './method.ts';
import type { BenchResults, ProfiledRun } from './results.ts';
import type { ManyMailboxesResult } from './scenarios/many-mailboxes.ts';
import {
  formatBytes,
  HIGH_RTT_SPEEDUP,
  LOOPBACK_SPEEDUP,
  lambdaChecks,
  rawDrainCheck,
  requestChecks,
  rssChecks,
  speedup,
  speedupChecks,
  type TargetCheck,
} from './targets.ts';

export function renderReport(results: BenchResults): string {
  const { machine: m } = results;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
  const sections = [
    '# Benchmarks',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); edit bench/notes.md instead. -->',
    '',
    `Measured ${results.startedAt.toISOString()} – ${results.finishedAt.toISOString()}${results.smoke ? ' (**smoke run: tiny counts, not representative**)' : ''}.`,
    `Reproduce with \`${results.command}\` (as root on Debian/Ubuntu: it installs Dovecot, fetchmail, getmail6 and GNU time when missing).`,
    `Every number is the median of ${results.repetitions} runs (min – max beside it); each run starts a fresh process on a freshly seeded mailbox, and is verified before it counts.`,
    '',
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${m.cpus} × ${m.cpuModel}`],
        ['Memory', `${m.memoryGiB.toFixed(1)} GiB`],
        ['Kernel', m.kernel],
        ['Node.js', m.node],
        ['Dovecot', m.dovecot],
        ['fetchmail', m.fetchmail ?? 'not installed'],
        ['getmail6', m.getmail ?? 'not installed'],
        ['Load average (1/5/15 min) at start', load(results.loadAtStart)],
        [
          'Load average when measuring began',
          `${load(results.loadAtMeasuring)}${results.waitedForQuietSeconds > 0 ? ` (after waiting ${results.waitedForQuietSeconds} s)` : ''}`,
        ],
        ['Load average at the end', load(results.loadAtEnd)],
      ],
    ),
    '',
    '## Targets',
    '',
    targetsTable(results),
    '',
    ...methodSection(),
    ...contestSection('1. Loopback', results.loopback, LOOPBACK_SPEEDUP),
    ...contestSection(
      `2. ${results.delayed?.rttMs ?? 50} ms RTT (delaying proxy, ${(results.delayed?.rttMs ?? 50) / 2} ms each way)`,
      results.delayed,
      HIGH_RTT_SPEEDUP,
    ),
    ...sweepSection(results),
    ...manySection(results.many),
    ...lambdaSection(results),
    ...s3PathSection(results),
    ...fleetSection(results),
    ...arithmeticSection(results),
    ...profileSection(results.profiles),
    '## Notes',
    '',
    results.notes.trim(),
    '',
  ];
  return sections.join('\n');
}

function targetsTable(results: BenchResults): string {
  const checks: TargetCheck[] = [
    ...speedupChecks(results.loopback, LOOPBACK_SPEEDUP, 'Loopback'),
    ...speedupChecks(results.delayed, HIGH_RTT_SPEEDUP, '50 ms RTT'),
    ...rawDrainCheck(results.loopback, 'Loopback'),
    ...rawDrainCheck(results.delayed, '50 ms RTT'),
    ...rssChecks(results.sweep ?? []),
    ...requestChecks(results.loopback),
    ...lambdaChecks(results.lambda),
  ];
  const verdict = (met: boolean | undefined) => (met === undefined ? 'n/a' : met ? '**met**' : '**missed**');
  return table(
    ['Target', 'Measured', ''],
    checks.map((check) => [check.target, check.measured, verdict(check.met)]),
  );
}

function contestSection(title: string, contest: ContestResult | undefined, goal: number): string[] {
  if (!contest) return [];
  const raw = contest.results.find((result) => result.id === 'raw-drain')?.seconds.median;
  const rows = contest.results.map((result) => {
    if (result.failure)
      return [result.label, `failed: ${result.failure.split('\n')[0]}`, '', '', '', '', '', ''];
    const fetchmail = speedup(contest, 'fetchmail', result.id);
    const getmail = speedup(contest, 'getmail', result.id);
    return [
      result.label,
      seconds(result.seconds),
      result.pollSeconds ? result.pollSeconds.median.toFixed(2) : '–',
      rate(contest.messages, result.seconds),
      fetchmail === undefined ? '–' : `${fetchmail.toFixed(1)}×`,
      getmail === undefined ? '–' : `${getmail.toFixed(1)}×`,
      raw === undefined ? '–' : `${(result.seconds.median / raw).toFixed(1)}×`,
      resources(result),
    ];
  });
  const requests = contest.results.find((result) => result.id === 'poller-s3')?.requests;
  return [
    `## ${title}: ${contest.messages} × ${formatBytes(contest.messageBytes)}`,
    '',
    table(
      [
        'Contender',
        'Seconds: median (min – max)',
        'of which polling',
        'msgs/s',
        'vs fetchmail',
        'vs getmail',
        'time ÷ raw drain',
        'CPU s, peak RSS',
      ],
      rows,
    ),
    '',
    `"of which polling": connect to QUIT as mailbox-poller times it itself; the rest of its time is process start (Node, module init, config validation). "vs" columns: the peer's median time ÷ this row's (higher is faster; the target for mailbox-poller → S3+SQS is ≥ ${goal}×).`,
    ...retriedRuns(contest.results),
    ...(requests
      ? [
          '',
          `S3+SQS requests in one run: ${Object.entries(requests.byOperation)
            .map(([operation, count]) => `${operation} ${count}`)
            .join(
              ', ',
            )} — ${(requests.s3Puts / contest.messages).toFixed(2)} S3 PUTs and ${(requests.sqsRequests / contest.messages).toFixed(2)} SQS requests per message.`,
        ]
      : []),
    '',
  ];
}

/** Runs that failed and were repeated: said next to the numbers, with the first line of why. */
function retriedRuns(results: readonly ContenderResult[]): string[] {
  return results
    .filter((result) => result.failedAttempts.length > 0 && !result.failure)
    .map((result) => {
      const reasons = [...new Set(result.failedAttempts.map((why) => why.split('\n').at(-1)?.trim()))];
      return `${result.label}: ${result.failedAttempts.length} failed run(s) repeated (${reasons.join('; ')}).`;
    });
}

function sweepSection(results: BenchResults): string[] {
  if (!results.sweep) return [];
  const rows = results.sweep.flatMap(({ bytes, contest }) =>
    contest.results.map((result) => [
      formatBytes(bytes),
      result.label,
      result.failure ? `failed: ${result.failure.split('\n')[0]}` : seconds(result.seconds),
      result.failure ? '' : `${(bytes / 1024 / 1024 / result.seconds.median).toFixed(1)}`,
      result.peakRssMiB ? result.peakRssMiB.median.toFixed(1) : '–',
      result.requests
        ? Object.entries(result.requests.byOperation)
            .map(([operation, count]) => `${operation.replace(/^(s3|sqs):/, '')} ${count}`)
            .join(', ')
        : '',
    ]),
  );
  return [
    '## 3. Message size sweep: one message per run',
    '',
    table(
      ['Size', 'Destination', 'Seconds: median (min – max)', 'MiB/s', 'Peak RSS MiB', 'S3/SQS requests'],
      rows,
    ),
    '',
    'Peak RSS is the child process’s maximum resident set (GNU time, getrusage), process start included.',
    ...retriedRuns(results.sweep.flatMap(({ contest }) => contest.results)),
    '',
  ];
}

function manySection(many: ManyMailboxesResult | undefined): string[] {
  if (!many) return [];
  const { spec } = many;
  const single = many.rows.find((row) => row.concurrency === undefined);
  const total = spec.mailboxes * spec.messagesEach;
  const rows = many.rows.map((row) => {
    const overhead =
      single && row !== single
        ? `${(((row.result.seconds.median - single.result.seconds.median) / row.mailboxes) * 1000).toFixed(1)} ms`
        : '–';
    return [
      row.concurrency === undefined
        ? `1 mailbox × ${total}`
        : `${row.mailboxes} mailboxes × ${spec.messagesEach}, --concurrency ${row.concurrency}`,
      seconds(row.result.seconds),
      rate(total, row.result.seconds),
      overhead,
      row.sessionSeconds ? `${(row.sessionSeconds.median * 1000).toFixed(0)} ms` : '–',
      resources(row.result),
    ];
  });
  return [
    `## 4. Many mailboxes: ${spec.mailboxes} × ${spec.messagesEach} messages of ${formatBytes(spec.messageBytes)}, to S3+SQS`,
    '',
    table(
      [
        'Run',
        'Seconds: median (min – max)',
        'msgs/s',
        'Wall time per mailbox over 1 mailbox',
        'Median session',
        'CPU s, peak RSS',
      ],
      rows,
    ),
    '',
    '"Wall time per mailbox": (this run − the same messages in one mailbox) ÷ mailboxes. "Median session": connect to QUIT of one mailbox, as the poller reports it.',
    '',
  ];
}

function lambdaSection(results: BenchResults): string[] {
  if (!results.lambda) return [];
  return [
    '## 5. Lambda bundles',
    '',
    table(
      ['Function', 'Bundle size', 'Module init: median (min – max)'],
      results.lambda.map((bundle) => [
        bundle.name,
        `${(bundle.bytes / 1024).toFixed(1)} KiB`,
        `${bundle.initMs.median.toFixed(0)} ms (${bundle.initMs.min.toFixed(0)} – ${bundle.initMs.max.toFixed(0)})`,
      ]),
    ),
    '',
    'Built like scripts/build.mjs (esbuild, minified, AWS SDK bundled); init = `await import(bundle)` in a fresh `node`.',
    '',
  ];
}

function profileSection(profiles: readonly ProfiledRun[] | undefined): string[] {
  if (!profiles || profiles.length === 0) return [];
  return [
    '## Where the poller’s time goes (CPU profile)',
    '',
    'One extra, untimed loopback run per destination with `node --cpu-prof` on the unminified bundle; self time by area and the hottest functions. "(idle)" is the main thread waiting (sockets, disk, timers).',
    '',
    ...profiles.flatMap((profile) => [
      `### → ${profile.destination}: ${profile.messages} messages, ${profile.wallSeconds.toFixed(2)} s wall, ${(profile.summary.totalMs / 1000).toFixed(2)} s profiled`,
      '',
      table(
        ['Where', 'ms', 'share'],
        profile.summary.groups.map((group) => [group.name, group.ms.toFixed(0), percent(group.share)]),
      ),
      '',
      table(
        ['Area', 'ms', 'share'],
        profile.summary.areas.map((area) => [area.name, area.ms.toFixed(0), percent(area.share)]),
      ),
      '',
      table(
        ['Function', 'ms', 'share'],
        profile.summary.functions.map((fn) => [`\`${fn.name}\``, fn.ms.toFixed(0), percent(fn.share)]),
      ),
      '',
    ]),
  ];
}

/** The headings of the sections this run measured, which replace their namesakes in an existing report. */
export function measuredHeadings(results: BenchResults): string[] {
  return [
    ...(results.lambda ? ['## 5. Lambda bundles'] : []),
    ...(results.s3Path ? [S3_PATH_HEADING] : []),
    ...(results.fleet ? [FLEET_HEADING, ARITHMETIC_HEADING] : []),
    '## Notes',
  ];
}

/** Splits a report at its `## ` headings: the text before the first, then heading → section text. */
function sectionsOf(markdown: string): { head: string; sections: Map<string, string> } {
  const parts = markdown.split(/^(?=## )/m);
  const head = parts[0]!.startsWith('## ') ? '' : parts.shift()!;
  return { head, sections: new Map(parts.map((part) => [part.split('\n', 1)[0]!, part])) };
}

/**
 * The existing report with the measured sections replaced by the new report's (a new one goes before
 * the CPU profile section, or before the notes), every other section kept as it was measured.
 */
export function spliceSections(existing: string, rendered: string, headings: readonly string[]): string {
  const old = sectionsOf(existing);
  const fresh = sectionsOf(rendered);
  const result = new Map(old.sections);
  for (const heading of headings) {
    const text = fresh.sections.get(heading);
    if (text === undefined) continue;
    if (result.has(heading)) {
      result.set(heading, text);
      continue;
    }
    const entries = [...result];
    const before = entries.findIndex(([name]) => name.startsWith('## Where') || name === '## Notes');
    entries.splice(before === -1 ? entries.length : before, 0, [heading, text]);
    result.clear();
    for (const [name, body] of entries) result.set(name, body);
  }
  const ordered = [...result.values()].map((text) => (text.endsWith('\n') ? text : `${text}\n`));
  return old.head + ordered.join('');
}
