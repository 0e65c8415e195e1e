/**
 * Round trips of one poll of an EMPTY mailbox, the most common poll of a fleet: connect, greeting, CAPA,
 * login, listing, QUIT, each reply waited for at a real network's round-trip time. A local Dovecot sits
 * behind the delaying TCP proxy (test/support/tcp-proxy.ts, half the RTT each way), and pollMailbox runs
 * as the poll function and the CLI run it. Lambda bills this wait: at 50 ms RTT each round trip is 50 ms.
 *
 *   npx tsx bench/empty-poll-rtt.ts [--rtt 50] [--repetitions 5] [--resuming-server]
 *
 * `--resuming-server` runs Dovecot's login processes long-lived (service_count = 0), as a server that can
 * resume the TLS sessions it issued; by default each connection gets a new login process, which cannot.
 *
 * Reported per TLS mode: the median wall time of a poll, that time in round trips, and the round trips
 * the client waited for, counted at the proxy: each time the client spoke again after the server had
 * answered (the TLS handshake's two flights included), read when the poll returns. The proxy runs in
 * this process, so a last write the client does not wait for (QUIT after an empty poll) is seen only
 * after the poll returned and is not counted; one it waits for is. The proxy accepts the TCP connection
 * itself, without delay, so on a real network add 1 round trip (SYN / SYN-ACK) to both numbers.
 *
 * The first poll of each mode runs cold (no remembered login mechanism, no TLS session); the median is
 * taken over the warm ones, as in a warm Lambda container or a long CLI run; the cold one is shown too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigCredentialsProvider } from '../lib/adapters/credentials.ts';
import { LocalMessageStore } from '../lib/adapters/local-message-store.ts';
import { LocalNotifier } from '../lib/adapters/local-notifier.ts';
import { parseConfig } from '../lib/config/load-config.ts';
import type { TlsMode } from '../lib/config/types.ts';
import { Deadline } from '../lib/deadline.ts';
import { pollMailbox } from '../lib/pipeline/poll-mailbox.ts';
import { systemClock } from '../lib/ports.ts';
import { startDovecot } from '../test/support/dovecot.ts';
import { startTcpProxy } from '../test/support/tcp-proxy.ts';
import { median } from './stats.ts';

const USER = { name: 'empty', password: 'empty mailbox 1' };

export interface EmptyPollMeasurement {
  readonly tls: TlsMode;
  readonly rttMs: number;
  readonly coldMs: number;
  readonly coldTurns: number;
  readonly medianMs: number;
  readonly medianTurns: number;
  /** Median wall time divided by the RTT: the round trips the client waited for. */
  readonly roundTrips: number;
}

/** Counts the client's turns on one connection: a new one each time it writes after the server wrote. */
class TurnCounter {
  turns = 0;
  #serverSpokeLast = true; // the first client bytes follow the accept (TLS) or the greeting
  client(): void {
    if (this.#serverSpokeLast) this.turns++;
    this.#serverSpokeLast = false;
  }
  server(): void {
    this.#serverSpokeLast = true;
  }
}

/** Dovecot's login processes long-lived: they can resume the TLS sessions they issued. */
const RESUMING_LOGIN_PROCESSES = 'service pop3-login {\n  service_count = 0\n  process_min_avail = 1\n}\n';

export async function measureEmptyPolls(
  rttMs: number,
  repetitions: number,
  { resumingServer = false } = {},
): Promise<EmptyPollMeasurement[]> {
  const dovecot = await startDovecot({
    users: [USER],
    ...(resumingServer ? { extraConfig: RESUMING_LOGIN_PROCESSES } : {}),
  });
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-poll-rtt-'));
  const results: EmptyPollMeasurement[] = [];
  try {
    for (const tls of ['implicit', 'starttls', 'none'] as const) {
      let counter = new TurnCounter();
      const proxy = await startTcpProxy({
        target: { host: dovecot.host, port: tls === 'implicit' ? dovecot.pop3sPort : dovecot.pop3Port },
        delayMs: rttMs / 2,
        onClientData: () => {
          counter.client();
          return 'pass';
        },
        onServerData: () => {
          counter.server();
          return 'pass';
        },
      });
      const config = parseConfig({
        mailboxes: [
          {
            id: `empty-${tls}`,
            host: proxy.host,
            port: proxy.port,
            tls,
            servername: 'localhost',
            ca: dovecot.caPem,
            username: USER.name,
            password: { env: 'EMPTY_PASSWORD' },
            ...(tls === 'none' ? { allowInsecureAuth: true } : {}),
          },
        ],
      });
      const ports = {
        store: new LocalMessageStore({ outDir }),
        notifier: new LocalNotifier({ outDir }),
        credentials: new ConfigCredentialsProvider({ env: { EMPTY_PASSWORD: USER.password } }),
        clock: systemClock,
      };
      const times: number[] = [];
      const turns: number[] = [];
      for (let run = 0; run <= repetitions; run++) {
        counter = new TurnCounter();
        const started = performance.now();
        const outcome = await pollMailbox(config.mailboxes[0]!, ports, Deadline.after(60_000));
        times.push(performance.now() - started);
        turns.push(counter.turns);
        if (outcome.status !== 'ok')
          throw new Error(`empty poll over ${tls}: ${outcome.status} ${outcome.reason}`);
        // Let the server see the close before the next poll (the client may not wait for QUIT's reply).
        await new Promise((resolve) => setTimeout(resolve, rttMs * 2));
      }
      await proxy.close();
      const warmTimes = times.slice(1);
      results.push({
        tls,
        rttMs,
        coldMs: times[0]!,
        coldTurns: turns[0]!,
        medianMs: median(warmTimes),
        medianTurns: median(turns.slice(1)),
        roundTrips: median(warmTimes) / rttMs,
      });
    }
  } finally {
    await dovecot.stop();
    fs.rmSync(outDir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rtt: { type: 'string', default: '50' },
      repetitions: { type: 'string', default: '5' },
      'resuming-server': { type: 'boolean', default: false },
    },
  });
  const results = await measureEmptyPolls(Number(values.rtt), Number(values.repetitions), {
    resumingServer: values['resuming-server'],
  });
  console.log('| TLS | cold poll | cold waits | warm poll (median) | warm waits | warm time ÷ RTT |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(
      `| ${r.tls} | ${r.coldMs.toFixed(0)} ms | ${r.coldTurns} | ${r.medianMs.toFixed(0)} ms | ${r.medianTurns} | ${r.roundTrips.toFixed(1)} |`,
    );
  }
  console.log(
    `RTT ${values.rtt} ms; add 1 round trip for the TCP handshake, which the proxy does not delay.`,
  );
}
