/**
 * Turns and waits of a poll from the chunks a delaying proxy saw (bench/scenarios/empty-poll.ts). Pure,
 * so the counting can be tested on made-up traces. Times are milliseconds on one clock; a chunk stamped
 * at `at` by the proxy reaches the other side at `at + oneWayMs`.
 */

export interface Chunk {
  readonly at: number;
  readonly bytes: number;
}

/** The chunks of one connection, each direction in the order the proxy received them. */
export interface ConnectionTrace {
  readonly client: readonly Chunk[];
  readonly server: readonly Chunk[];
}

export interface PollTimes {
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface ConnectionTurns {
  /** Client chunks sent after a server chunk had reached the client (the first client chunk included). */
  readonly turns: number;
  /** Turns whose answer reached the client by `endedAt`: the round trips the poll waited for. */
  readonly waited: number;
  readonly serverBytes: number;
}

export function countTurns(trace: ConnectionTrace, oneWayMs: number, endedAt: number): ConnectionTurns {
  const delivered = trace.server.map((chunk) => chunk.at + oneWayMs);
  const turnStarts: number[] = [];
  let previous = Number.NEGATIVE_INFINITY;
  for (const chunk of trace.client) {
    // The client cannot answer a chunk before it arrives: one that arrived since its last write starts a turn.
    const answered = delivered.some((when) => when > previous && when <= chunk.at);
    if (turnStarts.length === 0 || answered) turnStarts.push(chunk.at);
    previous = chunk.at;
  }
  const waited = turnStarts.filter((start) => {
    // The server's answer: its first chunk after the turn reached it (half an RTT after the proxy saw it).
    const answer = trace.server.find((chunk) => chunk.at >= start + oneWayMs);
    return answer !== undefined && answer.at + oneWayMs <= endedAt;
  }).length;
  return {
    turns: turnStarts.length,
    waited,
    serverBytes: trace.server.reduce((sum, chunk) => sum + chunk.bytes, 0),
  };
}

/**
 * Each poll with the turns of the connections it opened: a connection belongs to the poll during which its
 * first chunk passed the proxy. A poll that opened none is an error, as is a connection of no poll.
 */
export function tracePolls<Poll extends PollTimes>(
  polls: readonly Poll[],
  connections: readonly ConnectionTrace[],
  oneWayMs: number,
): (Poll & ConnectionTurns)[] {
  const firstAt = (trace: ConnectionTrace) =>
    Math.min(
      trace.client[0]?.at ?? Number.POSITIVE_INFINITY,
      trace.server[0]?.at ?? Number.POSITIVE_INFINITY,
    );
  const claimed = new Set<ConnectionTrace>();
  const traced = polls.map((poll) => {
    const its = connections.filter((trace) => {
      const first = firstAt(trace);
      return first >= poll.startedAt && first <= poll.endedAt;
    });
    if (its.length === 0)
      throw new Error(`no connection passed the proxy during the poll at ${poll.startedAt}`);
    for (const trace of its) claimed.add(trace);
    const counted = its.map((trace) => countTurns(trace, oneWayMs, poll.endedAt));
    const sum = (pick: (c: ConnectionTurns) => number) => counted.reduce((total, c) => total + pick(c), 0);
    return {
      ...poll,
      turns: sum((c) => c.turns),
      waited: sum((c) => c.waited),
      serverBytes: sum((c) => c.serverBytes),
    };
  });
  if (claimed.size !== connections.length)
    throw new Error(`${connections.length - claimed.size} connection(s) outside every poll`);
  return traced;
}
