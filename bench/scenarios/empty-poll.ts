/**
 * Scenario `empty-poll`: the round trips and wall time of one poll of an EMPTY mailbox (the most common
 * poll of a fleet, and the one Lambda bills for waiting) at a real network's round-trip time, for each TLS
 * mode, cold and warm, with the code of this checkout and of an earlier commit in the same run.
 *
 * - The server: a local Dovecot, twice: with its default of a new login process per connection (which
 *   cannot resume a TLS session it issued in another process), and with long-lived login processes
 *   (`service_count = 0`), as a server that resumes sessions, which large providers do.
 * - The network: test/support/tcp-proxy.ts in this process, half the RTT each way. Its hooks stamp every
 *   chunk; a chunk reaches the other side half an RTT after it was stamped.
 * - The client: bench/children/empty-poll.ts in a process of its own (one per sample: its first poll is
 *   cold, the rest warm), bundled from this checkout and from `git archive <before> lib schema`, so the
 *   "before" row is that commit's client under the same loop, proxy and server.
 *
 * Counted per connection: a turn is a client chunk sent after a server chunk reached the client (the first
 * client chunk is one too); a turn is waited for when the server's answer reached the client before the
 * poll returned. So a QUIT whose reply the client does not wait for is a turn, not a wait. The proxy
 * accepts the TCP connection without delay: on a real network add 1 round trip (SYN / SYN-ACK).
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS } from '../../scripts/build.mjs';
import { startDovecot } from '../../test/support/dovecot.ts';
import { startTcpProxy } from '../../test/support/tcp-proxy.ts';
import { median, type Summary, summarize } from '../stats.ts';
import { type Chunk, type PollTimes, tracePolls } from './empty-poll-turns.ts';

const run = promisify(execFile);
const USER = { name: 'empty', password: 'empty mailbox 1' };
export const TLS_MODES = ['implicit', 'starttls', 'none'] as const;
export type TlsMode = (typeof TLS_MODES)[number];
/** Dovecot's login processes long-lived: they can resume the TLS sessions they issued. */
const RESUMING_LOGIN_PROCESSES = 'service pop3-login {\n  service_count = 0\n  process_min_avail = 1\n}\n';
const SERVERS = [
  { name: 'new login process per connection (Dovecot default)', extraConfig: '' },
  { name: 'long-lived login processes (resumes TLS sessions)', extraConfig: RESUMING_LOGIN_PROCESSES },
] as const;

export interface EmptyPollPlan {
  readonly rttMs: number;
  /** Client processes per TLS mode, server and code: each gives one cold poll. */
  readonly processes: number;
  /** Warm polls after the cold one in each process. */
  readonly warmPolls: number;
  /** The earlier commit measured beside this checkout; undefined: this checkout only. */
  readonly beforeCommit: string | undefined;
}

export interface PollFigures {
  readonly ms: Summary;
  /** The client process's CPU time during a poll (user + system), median. Absent in sections before. */
  readonly cpuMs: number;
  /** Medians over the polls. */
  readonly turns: number;
  readonly waited: number;
  readonly serverBytes: number;
}

export interface EmptyPollRow {
  readonly server: string;
  readonly tls: TlsMode;
  /** 'this checkout' or the earlier commit's short hash. */
  readonly code: string;
  readonly cold: PollFigures;
  readonly warm: PollFigures;
}

export interface EmptyPollResults {
  readonly plan: EmptyPollPlan;
  readonly measuredAt: string;
  readonly load: readonly number[];
  /** What the earlier commit is, for the report: `<hash> <subject>`. */
  readonly before: string | undefined;
  readonly rows: readonly EmptyPollRow[];
}

interface Contender {
  readonly code: string;
  readonly bundle: string;
}

/** The child bundled from this checkout, and from `before`'s lib/ when asked: the contenders. */
export async function buildEmptyPollContenders(
  root: string,
  workDir: string,
  beforeCommit: string | undefined,
): Promise<{ contenders: Contender[]; before: string | undefined }> {
  const child = path.join(root, 'bench/children/empty-poll.ts');
  const outDir = path.join(workDir, 'empty-poll');
  fs.mkdirSync(outDir, { recursive: true });
  const bundleOf = async (entry: string, name: string) => {
    const outfile = path.join(outDir, name);
    // No precompiled validator: it is generated from this checkout's schema, and the config is read
    // before the timed polls anyway.
    await build({ ...ESBUILD_OPTIONS, entryPoints: [entry], outfile, target: 'node20' });
    return outfile;
  };
  const contenders: Contender[] = [{ code: 'this checkout', bundle: await bundleOf(child, 'now.mjs') }];
  if (beforeCommit === undefined) return { contenders, before: undefined };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
  const hash = git('rev-parse', '--short', `${beforeCommit}^{commit}`);
  // Inside the checkout, so that its node_modules resolves the export's imports; only lib/ and schema/.
  const tree = path.join(outDir, `before-${hash}`);
  fs.rmSync(tree, { recursive: true, force: true });
  fs.mkdirSync(path.join(tree, 'bench/children'), { recursive: true });
  execFileSync('bash', ['-c', `git archive ${hash} lib schema | tar -x -C '${tree}'`], { cwd: root });
  fs.copyFileSync(child, path.join(tree, 'bench/children/empty-poll.ts'));
  contenders.unshift({
    code: hash,
    bundle: await bundleOf(path.join(tree, 'bench/children/empty-poll.ts'), `before-${hash}.mjs`),
  });
  return { contenders, before: `${hash} ${git('log', '-1', '--format=%s', hash)}` };
}

export async function measureEmptyPolls(
  plan: EmptyPollPlan,
  contenders: readonly Contender[],
  before: string | undefined,
  loadAverage: () => readonly number[],
  log: (line: string) => void,
): Promise<EmptyPollResults> {
  const rows: EmptyPollRow[] = [];
  for (const server of SERVERS) {
    const dovecot = await startDovecot({ users: [USER], extraConfig: server.extraConfig });
    const caFile = path.join(path.dirname(contenders[0]!.bundle), 'ca.pem');
    fs.writeFileSync(caFile, dovecot.caPem);
    try {
      for (const tls of TLS_MODES) {
        const port = tls === 'implicit' ? dovecot.pop3sPort : dovecot.pop3Port;
        for (const contender of contenders) {
          log(`bench:    empty poll: ${server.name}, ${tls}, ${contender.code}`);
          const polls = await measureOne(contender, { host: dovecot.host, port, tls, caFile }, plan);
          rows.push({ server: server.name, tls, code: contender.code, ...figuresOf(polls) });
        }
      }
    } finally {
      await dovecot.stop();
    }
  }
  return { plan, measuredAt: new Date().toISOString(), load: loadAverage(), before, rows };
}

interface MeasuredPoll extends PollTimes {
  readonly cold: boolean;
  readonly cpuMs: number;
  readonly turns: number;
  readonly waited: number;
  readonly serverBytes: number;
}

/** `plan.processes` client processes through one proxy; every poll with its counted turns. */
async function measureOne(
  contender: Contender,
  target: { host: string; port: number; tls: TlsMode; caFile: string },
  plan: EmptyPollPlan,
): Promise<MeasuredPoll[]> {
  const connections = new Map<number, { client: Chunk[]; server: Chunk[] }>();
  const at = () => performance.timeOrigin + performance.now();
  const traceOf = (connection: number) => {
    const trace = connections.get(connection) ?? { client: [], server: [] };
    connections.set(connection, trace);
    return trace;
  };
  const proxy = await startTcpProxy({
    target: { host: target.host, port: target.port },
    delayMs: plan.rttMs / 2,
    onClientData: (chunk, _total, connection) => {
      traceOf(connection).client.push({ at: at(), bytes: chunk.length });
      return 'pass';
    },
    onServerData: (chunk, _total, connection) => {
      traceOf(connection).server.push({ at: at(), bytes: chunk.length });
      return 'pass';
    },
  });
  const measured: MeasuredPoll[] = [];
  try {
    for (let p = 0; p < plan.processes; p++) {
      const spec = {
        host: proxy.host,
        port: proxy.port,
        tls: target.tls,
        caFile: target.caFile,
        username: USER.name,
        password: USER.password,
        polls: 1 + plan.warmPolls,
        // Let the server see the close before the next poll (the client may not wait for QUIT's reply).
        pauseMs: plan.rttMs * 2,
      };
      const { stdout } = await run(process.execPath, [contender.bundle, JSON.stringify(spec)]);
      const { polls } = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        polls: (PollTimes & { cpuMs: number; status: string; reason?: string })[];
      };
      const failed = polls.find((poll) => poll.status !== 'ok');
      if (failed)
        throw new Error(
          `empty poll over ${target.tls} (${contender.code}): ${failed.status} ${failed.reason}`,
        );
      const traced = tracePolls(polls, [...connections.values()], plan.rttMs / 2);
      measured.push(...traced.map((poll, n) => ({ ...poll, cold: n === 0 })));
      connections.clear();
    }
  } finally {
    await proxy.close();
  }
  return measured;
}

function figuresOf(polls: readonly MeasuredPoll[]): { cold: PollFigures; warm: PollFigures } {
  const of = (some: readonly MeasuredPoll[]): PollFigures => ({
    ms: summarize(some.map((poll) => poll.endedAt - poll.startedAt)),
    cpuMs: median(some.map((poll) => poll.cpuMs)),
    turns: median(some.map((poll) => poll.turns)),
    waited: median(some.map((poll) => poll.waited)),
    serverBytes: median(some.map((poll) => poll.serverBytes)),
  });
  return { cold: of(polls.filter((poll) => poll.cold)), warm: of(polls.filter((poll) => !poll.cold)) };
}
