/**
 * Empty polls of one mailbox in one process, as a warm Lambda container or a long CLI run makes them:
 * pollMailbox with the local store and notifier (nothing is stored: the mailbox is empty), the first poll
 * cold (no TLS session, no remembered login mechanism, no trust store built yet), the rest warm. Prints one
 * JSON line: each poll's start and end on the clock the harness shares (performance.timeOrigin + now, ms
 * since the epoch), the process's CPU time during it, and its status, so the harness can tell which of the turns its proxy counted the poll
 * waited for.
 *
 * Bundled twice by the empty-poll scenario: from this checkout, and from a copy of this file placed in an
 * export of an earlier commit's lib/ (bench/scenarios/empty-poll.ts), so both run the same loop over
 * their own client. It therefore imports only what both have.
 *
 *   node empty-poll.mjs '{"host":…,"port":…,"tls":…,"caFile":…,"username":…,"password":…,"polls":6,"pauseMs":100}'
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { LocalMessageStore } from '../../lib/adapters/local-message-store.ts';
import { LocalNotifier } from '../../lib/adapters/local-notifier.ts';
import { parseConfig } from '../../lib/config/load-config.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { systemClock } from '../../lib/ports.ts';

interface EmptyPollSpec {
  readonly host: string;
  readonly port: number;
  readonly tls: 'implicit' | 'starttls' | 'none';
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  /** Polls in all, the cold one included. */
  readonly polls: number;
  /** Pause after each poll, so the server has seen the close before the next connection. */
  readonly pauseMs: number;
}

const spec = JSON.parse(process.argv[2]!) as EmptyPollSpec;
const clock = () => performance.timeOrigin + performance.now();
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-poll-'));
const config = parseConfig({
  mailboxes: [
    {
      id: `empty-${spec.tls}`,
      host: spec.host,
      port: spec.port,
      tls: spec.tls,
      servername: 'localhost',
      ca: fs.readFileSync(spec.caFile, 'utf8'),
      username: spec.username,
      password: { env: 'EMPTY_POLL_PASSWORD' },
      ...(spec.tls === 'none' ? { allowInsecureAuth: true } : {}),
    },
  ],
});
const ports = {
  store: new LocalMessageStore({ outDir }),
  notifier: new LocalNotifier({ outDir }),
  credentials: new ConfigCredentialsProvider({ env: { EMPTY_POLL_PASSWORD: spec.password } }),
  clock: systemClock,
};
const polls: { startedAt: number; endedAt: number; cpuMs: number; status: string; reason?: string }[] = [];
try {
  for (let n = 0; n < spec.polls; n++) {
    const cpu = process.cpuUsage();
    const startedAt = clock();
    const outcome = await pollMailbox(config.mailboxes[0]!, ports, Deadline.after(60_000));
    const endedAt = clock();
    const used = process.cpuUsage(cpu);
    polls.push({
      startedAt,
      endedAt,
      cpuMs: (used.user + used.system) / 1000,
      status: outcome.status,
      ...(outcome.reason === undefined ? {} : { reason: String(outcome.reason) }),
    });
    await new Promise((resolve) => setTimeout(resolve, spec.pauseMs));
  }
} finally {
  fs.rmSync(outDir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ polls })}\n`);
