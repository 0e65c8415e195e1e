/**
 * What the CLI as shipped shows while it works: the progress line counts toward what the listing
 * planned ("message 3 of 24", bytes of the total, time left), `-v` lines come in message order although
 * messages settle out of order (one over the size limit is left before any is retrieved), and `--trace`
 * shows CAPA's whole reply. The bundle's main runs with a stderr that says it is a terminal, the only
 * place the progress line is drawn.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProgress } from '../../lib/cli/report.ts';
import { type BuiltCli, buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const COUNT = 25;
/** Message 4 is over the size limit the config sets: left by rule, and settled before any other. */
const OVERSIZED = 4;
const SIZE_LIMIT = 100_000;

let cli: BuiltCli;
let ttyRunner: string;

beforeAll(async () => {
  cli = await buildCliBundle('cli-progress-bundle-');
  ttyRunner = path.join(cli.dir, 'run-tty.mjs');
  await writeFile(
    ttyRunner,
    [
      "import { main } from './cli.mjs';",
      'const out = (stream, isTTY) => ({ write: (text) => stream.write(text), isTTY });',
      'const io = { stdout: out(process.stdout, false), stderr: out(process.stderr, true), env: process.env };',
      'process.exitCode = await main(process.argv.slice(2), io);',
      '',
    ].join('\n'),
  );
}, 180_000);

afterAll(async () => {
  await cli?.remove();
});

/** A fresh maildrop for each test (a poll empties it) and a config naming it. */
async function mailbox(): Promise<{ server: MemoryPop3Server; config: string }> {
  const messages = Array.from({ length: COUNT }, (_, i) =>
    Buffer.from(`Subject: m${i + 1}\r\n\r\n${'x'.repeat(i + 1 === OVERSIZED ? 2 * SIZE_LIMIT : 1000)}\r\n`),
  );
  const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'pw', messages }] });
  const config = path.join(cli.dir, `config-${server.port}.json`);
  const entry = { id: 'support', host: server.host, port: server.port, tls: 'none', allowInsecureAuth: true };
  const limits = { maxMessageBytes: SIZE_LIMIT };
  await writeFile(
    config,
    JSON.stringify({ mailboxes: [{ ...entry, username: 'alice', password: 'pw', limits }] }),
  );
  return { server, config };
}

async function poll(runner: string, ...args: string[]): Promise<CliRun> {
  const { server, config } = await mailbox();
  try {
    return await runBuiltCli(runner, ['poll', '--config', config, '--out', `out-${server.port}`, ...args], {
      cwd: cli.dir,
      env: { PATH: process.env.PATH ?? '', MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks') },
    });
  } finally {
    await server.close();
  }
}

describe('progress and live output (item 14)', () => {
  it('the progress line says "message n of N" and bytes of the planned total', async () => {
    const { status, stderr } = await poll(ttyRunner);
    expect(status).toBe(0);
    // 24 to retrieve (message 4 is left by the size limit), 1,020 listed octets each.
    expect(stderr).toMatch(/\rmessage \d+ of 24, [\d.]+ (B|KiB) of 23\.9 KiB \(/);
    expect(stderr).not.toMatch(/\r\d+ messages, /);
  });

  it('the time left comes from the byte rate so far', () => {
    const planned = { messages: 1290, bytes: 100 * 1024 * 1024 };
    expect(formatProgress({ messages: 645, bytes: 50 * 1024 * 1024, planned, seconds: 10 })).toBe(
      'message 645 of 1290, 50.0 MiB of 100.0 MiB (64.5 msg/s, 5.0 MiB/s, about 10 s left)',
    );
    expect(formatProgress({ messages: 10, bytes: 1024 * 1024, planned, seconds: 60 })).toMatch(
      /about 1 h 39 min left\)$/,
    );
  });

  it('-v lines come in message order', async () => {
    const { status, stderr } = await poll(cli.runner, '-v');
    expect(status).toBe(0);
    const order = [...stderr.matchAll(/^mailbox-poller: support: message (\d+) /gm)].map((m) => Number(m[1]));
    expect(order).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  });

  it('--trace shows each line of the CAPA reply', async () => {
    const { status, stderr } = await poll(cli.runner, '--trace');
    expect(status).toBe(0);
    const lines = stderr.split('\n');
    const capa = lines.indexOf('support C: CAPA');
    expect(capa).toBeGreaterThanOrEqual(0);
    const reply = lines.slice(capa + 1, lines.indexOf('support C: USER alice'));
    expect(reply[0]).toMatch(/^support S: \+OK/);
    expect(reply).toEqual(
      expect.arrayContaining(['support S: UIDL', 'support S: PIPELINING', 'support S: USER']),
    );
  });
});
