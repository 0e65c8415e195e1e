import { describe, expect, it } from 'vitest';
import {
  EMPTY_POLL_HEADING,
  emptyPollSectionOf,
  renderEmptyPoll,
  withEmptyPollSection,
} from '../../../bench/empty-poll-report.ts';
import type { EmptyPollResults, PollFigures } from '../../../bench/scenarios/empty-poll.ts';
import { type Chunk, countTurns, tracePolls } from '../../../bench/scenarios/empty-poll-turns.ts';

const ONE_WAY = 25;
const chunk = (at: number, bytes = 10): Chunk => ({ at, bytes });

/**
 * Plain POP3 at 50 ms RTT as the proxy stamps it (a chunk reaches the other side 25 ms later): greeting,
 * CAPA, USER+PASS in one write, the listing, then QUIT written as soon as the listing arrived.
 */
const plainPoll = {
  server: [chunk(0), chunk(50), chunk(100), chunk(150)],
  client: [chunk(25), chunk(75), chunk(125), chunk(175)],
};

describe('empty-poll turns counted at the proxy', () => {
  it('counts a turn per client write that follows an answer, and a wait only when the answer arrived before the poll returned', () => {
    // The poll returned right after writing QUIT (at 175): QUIT's reply (server at 200, client at 225) came later.
    const trace = { ...plainPoll, server: [...plainPoll.server, chunk(200)] };
    expect(countTurns(trace, ONE_WAY, 176)).toEqual({ turns: 4, waited: 3, serverBytes: 50 });
    // Waiting for QUIT's reply makes it a wait.
    expect(countTurns(trace, ONE_WAY, 230).waited).toBe(4);
  });

  it('does not count a pipelined write sent before the answer reached the client as a turn', () => {
    // The second client chunk (30) leaves before the server's chunk of 10 reached the client (at 35).
    const trace = { server: [chunk(0), chunk(10), chunk(60)], client: [chunk(25), chunk(30), chunk(85)] };
    expect(countTurns(trace, ONE_WAY, 200).turns).toBe(2);
  });

  it('gives each poll the connections whose first chunk passed during it, and refuses a stray connection', () => {
    const later = {
      server: plainPoll.server.map((c) => chunk(c.at + 1000)),
      client: plainPoll.client.map((c) => chunk(c.at + 1000)),
    };
    const polls = [
      { startedAt: -1, endedAt: 176 },
      { startedAt: 999, endedAt: 1176 },
    ];
    expect(tracePolls(polls, [plainPoll, later], ONE_WAY).map((p) => p.waited)).toEqual([3, 3]);
    expect(() => tracePolls(polls.slice(0, 1), [plainPoll, later], ONE_WAY)).toThrow(/outside every poll/);
    expect(() => tracePolls(polls, [plainPoll], ONE_WAY)).toThrow(/no connection/);
  });
});

const figures = (ms: number, waited: number): PollFigures => ({
  ms: { median: ms, min: ms, max: ms, samples: 1 },
  cpuMs: 12,
  turns: waited + 1,
  waited,
  serverBytes: 1800,
});
const results: EmptyPollResults = {
  plan: { rttMs: 50, processes: 1, warmPolls: 2, beforeCommit: 'abc1234' },
  measuredAt: '2026-12-07T00:00:00.000Z',
  load: [1, 1, 1],
  before: 'abc1234 an earlier commit',
  rows: [
    { server: 'one', tls: 'implicit', code: 'abc1234', cold: figures(450, 7), warm: figures(400, 7) },
    { server: 'one', tls: 'implicit', code: 'this checkout', cold: figures(340, 5), warm: figures(280, 5) },
  ],
};

describe('BENCHMARKS.md section 10', () => {
  it('states the waits and the time of the earlier commit against this checkout', () => {
    const section = renderEmptyPoll(results);
    expect(section.startsWith(EMPTY_POLL_HEADING)).toBe(true);
    expect(section).toContain('implicit TLS 7 → 5 waited (8 → 6 with TCP');
    expect(section).toContain('400 → 280 ms (−30 %)');
  });

  it('goes before the CPU profile the first time, and replaces itself after that', () => {
    const report =
      '# B\n\n## 9. Keep\n\nkept\n\n## Where the poller’s time goes\n\nprofile\n\n## Notes\n\nn\n';
    const once = withEmptyPollSection(report, renderEmptyPoll(results));
    expect(once.indexOf(EMPTY_POLL_HEADING)).toBeGreaterThan(once.indexOf('## 9. Keep'));
    expect(once.indexOf(EMPTY_POLL_HEADING)).toBeLessThan(once.indexOf('## Where'));
    const again = withEmptyPollSection(once, `${EMPTY_POLL_HEADING}\n\nnewer\n`);
    expect(again).toBe(report.replace('## Where', `${EMPTY_POLL_HEADING}\n\nnewer\n\n## Where`));
    expect(emptyPollSectionOf(again)).toBe(`${EMPTY_POLL_HEADING}\n\nnewer\n\n`);
  });
});
