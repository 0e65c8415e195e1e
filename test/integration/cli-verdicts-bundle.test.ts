/**
 * What users run: the CLI bundle built by scripts/build.mjs (into a folder of our own, not dist/) reads
 * `trustedAuthservId` from a config file and fills the verdicts of the notifications it writes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReceivedNotification } from '../../lib/notification/types.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { GMAIL_SPOOFED, gmail } from '../support/verdict-samples.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

let workDir: string;
let server: MemoryPop3Server;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'cli-verdicts-'));
  await run(
    process.execPath,
    ['scripts/build.mjs', '--out-dir', path.join(workDir, 'dist'), '--no-library', '--no-measure'],
    {
      cwd: ROOT,
    },
  );
  const message = Buffer.from(`${gmail(GMAIL_SPOOFED).replace(/\r?\n/g, '\r\n')}\r\n\r\nPay now.\r\n`);
  server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: 'secret', messages: [message] }],
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('the built CLI bundle', () => {
  it('fills spf/dmarc verdicts and dmarcPolicy for a mailbox trusting mx.google.com', {
    timeout: 60_000,
  }, async () => {
    const config = path.join(workDir, 'mailboxes.json');
    const mailbox = {
      id: 'inbox',
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      allowInsecureAuth: true,
    };
    await writeFile(
      config,
      JSON.stringify({
        mailboxes: [
          { ...mailbox, username: 'alice', password: 'secret', trustedAuthservId: 'mx.google.com' },
        ],
      }),
    );
    const outDir = path.join(workDir, 'out');
    const bundle = pathToFileURL(path.join(workDir, 'dist', 'cli.mjs')).href;
    const script = `const { main } = await import(${JSON.stringify(bundle)}); process.exitCode = await main(process.argv.slice(1));`;
    await run(
      process.execPath,
      ['--input-type=module', '-e', script, 'poll', '--config', config, '--out', outDir],
      {
        cwd: workDir,
      },
    );
    const [line] = (await readFile(path.join(outDir, 'notifications.jsonl'), 'utf8')).trimEnd().split('\n');
    const { receipt } = JSON.parse(line!) as ReceivedNotification;
    expect(receipt).toMatchObject({
      spfVerdict: { status: 'GRAY' },
      dkimVerdict: { status: 'DISABLED' },
      dmarcVerdict: { status: 'FAIL' },
      dmarcPolicy: 'quarantine',
      spamVerdict: { status: 'DISABLED' },
      virusVerdict: { status: 'DISABLED' },
    });
  });
});
