/**
 * BENCHMARKS.md section 10, the empty poll's round trips (bench/scenarios/empty-poll.ts). Measured apart
 * from the saved results, like the keep-mode state: a rerender keeps the section the report has.
 */
import { table } from './markdown.ts';
import type { EmptyPollResults, EmptyPollRow, PollFigures } from './scenarios/empty-poll.ts';

export const EMPTY_POLL_HEADING = '## 10. An empty mailbox: round trips and wall time';

const CODE_NOW = 'this checkout';
const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));
const bytes = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (figures: PollFigures) =>
  `${figures.ms.median.toFixed(0)} (${figures.ms.min.toFixed(0)} – ${figures.ms.max.toFixed(0)})`;
const TLS_NAMES = { implicit: 'implicit TLS', starttls: 'STARTTLS', none: 'plain (CRAM-MD5)' } as const;

export function renderEmptyPoll(results: EmptyPollResults): string {
  const { plan } = results;
  const servers = [...new Set(results.rows.map((row) => row.server))];
  const lines = [
    EMPTY_POLL_HEADING,
    '',
    `\`npm run bench -- --scenario empty-poll\`, ${results.measuredAt}, load average ${load(results.load)}. One poll of an empty mailbox at ${plan.rttMs} ms RTT: a local Dovecot behind the delaying proxy (test/support/tcp-proxy.ts, ${plan.rttMs / 2} ms each way). The client is bench/children/empty-poll.ts, built: \`pollMailbox\` with the local store, as the poll function and the CLI run it, in a process of its own whose first poll is cold (no TLS session, no remembered login mechanism, no trust store yet) and whose next ${plan.warmPolls} are warm, as in a warm Lambda container or a long CLI run. ${plan.processes} process(es) per row: "cold" is the median of ${plan.processes} poll(s), "warm" of ${plan.processes * plan.warmPolls}.${results.before === undefined ? '' : ` The rows marked with a commit are that commit's client (${results.before}), its lib/ exported with \`git archive\` and built with the same child, in the same run.`}`,
    '',
    'Round trips are counted at the proxy: "turns" are the client\'s writes after an answer reached it (the first write included), "waited" those whose answer reached it before the poll returned: a QUIT whose reply the client does not wait for is a turn, not a wait. The proxy accepts the TCP connection at once: on a real network add 1 round trip (SYN / SYN-ACK) to both. "Client CPU": the CPU time (user + system) of the client process during the poll, median. "Server bytes": what the server sent in the poll; a resumed TLS session sends no certificate.',
    '',
  ];
  for (const server of servers) {
    const rows = results.rows.filter((row) => row.server === server);
    lines.push(
      `### Server: ${server}`,
      '',
      table(
        [
          'TLS',
          'Code',
          'Cold: waited / turns',
          'Cold ms',
          'Warm: waited / turns',
          'Warm ms: median (min – max)',
          'Warm ms ÷ RTT',
          'Client CPU ms cold / warm',
          'Server bytes cold / warm',
        ],
        rows.map((row) => [
          TLS_NAMES[row.tls],
          row.code,
          `${count(row.cold.waited)} / ${count(row.cold.turns)}`,
          ms(row.cold),
          `${count(row.warm.waited)} / ${count(row.warm.turns)}`,
          ms(row.warm),
          (row.warm.ms.median / plan.rttMs).toFixed(1),
          `${row.cold.cpuMs.toFixed(1)} / ${row.warm.cpuMs.toFixed(1)}`,
          `${bytes(row.cold.serverBytes)} / ${bytes(row.warm.serverBytes)}`,
        ]),
      ),
      '',
      ...comparisons(rows),
    );
  }
  return lines.join('\n');
}

/** Per TLS mode, the earlier commit against this checkout, warm: waits and median time. */
function comparisons(rows: readonly EmptyPollRow[]): string[] {
  const said = [...new Set(rows.map((row) => row.tls))].flatMap((tls) => {
    const now = rows.find((row) => row.tls === tls && row.code === CODE_NOW);
    const before = rows.find((row) => row.tls === tls && row.code !== CODE_NOW);
    if (now === undefined || before === undefined) return [];
    const saved = 1 - now.warm.ms.median / before.warm.ms.median;
    return [
      `${TLS_NAMES[tls]} ${count(before.warm.waited)} → ${count(now.warm.waited)} waited (${count(before.warm.waited + 1)} → ${count(now.warm.waited + 1)} with TCP's), ${before.warm.ms.median.toFixed(0)} → ${now.warm.ms.median.toFixed(0)} ms (${saved >= 0 ? '−' : '+'}${Math.abs(Math.round(saved * 100))} %)`,
    ];
  });
  return said.length === 0
    ? []
    : [
        `Warm, ${rows[0]!.code === CODE_NOW ? '' : `${rows[0]!.code} → this checkout: `}${said.join('; ')}.`,
        '',
      ];
}

/** The section as the report has it, or undefined. */
export function emptyPollSectionOf(report: string): string | undefined {
  const start = report.indexOf(EMPTY_POLL_HEADING);
  if (start === -1) return undefined;
  const end = report.indexOf('\n## ', start + EMPTY_POLL_HEADING.length);
  return report.slice(start, end === -1 ? undefined : end + 1);
}

/** The report with the section replaced, or inserted after section 9 (before the CPU profile or the notes). */
export function withEmptyPollSection(report: string, section: string): string {
  const text = `${section.trimEnd()}\n\n`;
  const start = report.indexOf(EMPTY_POLL_HEADING);
  if (start !== -1) {
    const end = report.indexOf('\n## ', start + EMPTY_POLL_HEADING.length);
    return report.slice(0, start) + text + (end === -1 ? '' : report.slice(end + 1));
  }
  const next = ['\n## Where the poller', '\n## Notes']
    .map((heading) => report.indexOf(heading))
    .find((at) => at !== -1);
  const at = next === undefined ? report.length : next + 1;
  return `${report.slice(0, at)}${text}${report.slice(at)}`;
}
