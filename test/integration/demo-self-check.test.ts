/**
 * `mailbox-poller demo` checks what the poll wrote instead of trusting its exit status: a flipped byte in a
 * stored message, a notification too many, or a message left on the server each turn the verdict to FAIL
 * and exit 1. The poll here is the real one (lib/cli/main.ts) against the demo's own maildrop; only what
 * happens to its output afterwards differs from a real run.
 */
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRunner, demoMain } from '../../lib/cli/demo.ts';
import type { CliIo } from '../../lib/cli/io.ts';
import { main } from '../../lib/cli/main.ts';

const work = mkdtempSync(path.join(tmpdir(), 'demo-self-check-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function captured(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: {
      write: (text) => {
        out += text;
      },
    },
    stderr: {
      write: (text) => {
        err += text;
      },
    },
    env: { ...process.env, MAILBOX_POLLER_LOCK_DIR: path.join(work, 'locks') },
  };
  return { io, stdout: () => out, stderr: () => err };
}

/** The real poll, then `tamper` on the folder it wrote. */
function pollThen(tamper: (out: string, argv: readonly string[]) => void): CliRunner {
  return async (argv, io) => {
    const status = await main(argv, io);
    tamper(argv[argv.indexOf('--out') + 1]!, argv);
    return status;
  };
}

function messageFiles(out: string): string[] {
  return readdirSync(out, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.eml'))
    .map((file) => path.join(out, file));
}

async function demo(name: string, runner: CliRunner) {
  const run = captured();
  const out = path.join(work, name);
  const status = await demoMain(['--out', out], run.io, runner);
  return { status, stdout: run.stdout(), stderr: run.stderr() };
}

describe('mailbox-poller demo, its self-check', () => {
  it('passes an untouched run', async () => {
    const { status, stdout } = await demo('untouched', main);
    expect(status, stdout).toBe(0);
    expect(stdout).not.toContain('FAIL');
  });

  it('fails when one stored byte differs from the original', async () => {
    const { status, stdout } = await demo(
      'flipped-byte',
      pollThen((out) => {
        const file = messageFiles(out)[0]!;
        const bytes = readFileSync(file);
        bytes[bytes.length - 3]! ^= 0x01;
        writeFileSync(file, bytes);
      }),
    );
    expect(status).toBe(1);
    expect(stdout).toMatch(/^ {2}FAIL {2}support\/uidl\/\S+\.eml {2}\d+ bytes {2}matches no original$/m);
    expect(stdout).toContain('Demo FAILED');
  });

  it('fails when a message is notified twice', async () => {
    const { status, stdout } = await demo(
      'duplicate',
      pollThen((out) => {
        const file = path.join(out, 'notifications.jsonl');
        appendFileSync(file, `${readFileSync(file, 'utf8').split('\n')[0]}\n`);
      }),
    );
    expect(status).toBe(1);
    expect(stdout).toMatch(/^ {2}FAIL {2}6 notifications for 5 messages/m);
  });

  it('fails when the poll left the messages on the server', async () => {
    // A poll that never ran: nothing stored, nothing notified, nothing deleted.
    const { status, stdout } = await demo('no-poll', async () => 0);
    expect(status).toBe(1);
    expect(stdout).toMatch(/^ {2}FAIL {2}0 objects for 5 messages/m);
    expect(stdout).toMatch(/^ {2}FAIL {2}the mailbox is now empty \(5 messages left on the server\)/m);
  });

  it('refuses an --out folder that has files in it (exit 2), before polling anything', async () => {
    const out = path.join(work, 'not-empty');
    mkdirSync(out);
    writeFileSync(path.join(out, 'notifications.jsonl'), '{}\n');
    const run = captured();
    const status = await demoMain(['--out', out], run.io, async () => {
      throw new Error('the poll must not run');
    });
    expect(status).toBe(2);
    expect(run.stderr()).toContain(`--out ${out} has files in it`);
  });
});
