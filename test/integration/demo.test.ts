/**
 * `npm run demo` is the README's first command: it must pass on a machine with no AWS account and no mail
 * server, and end by itself (a server left running would keep the child alive until the timeout kills it).
 * It is `mailbox-poller demo` from the sources; test/package/packed-tarball.test.ts runs the same command
 * from the installed package.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The demo takes a few seconds; far longer means something it started is still holding the process. */
const DEMO_TIMEOUT_MS = 30_000;

interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const work = mkdtempSync(path.join(tmpdir(), 'demo-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runDemo(out: string): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'demo', '--', '--out', out],
      // No AWS settings of the test process may leak in: the demo must bring its own.
      { cwd: ROOT, timeout: DEMO_TIMEOUT_MS, env: withoutAwsSettings(process.env) },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
          signal: failure?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

function withoutAwsSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
}

describe('npm run demo', () => {
  it('polls the sample maildrop into local files, verifies every message, and exits 0 by itself', async () => {
    const out = path.join(work, 'out');
    const { code, signal, stdout, stderr } = await runDemo(out);

    expect(signal, 'the demo did not end by itself').toBeNull();
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/^support: ok — 5 found, 5 retrieved .* 5 stored, 5 notified, 5 deleted/m);
    expect(stdout).toContain('5 objects for 5 messages, each stored byte-for-byte exactly once');
    expect(stdout.match(/^ {2}ok {4}support\/uidl\/\S+\.eml {2}\d+ bytes {2}= message \d/gm)).toHaveLength(5);
    expect(stdout).toContain('5 notifications for 5 messages, one per stored object');
    expect(stdout).toContain('"Rechnung Nr. 42 – März 2025"');
    expect(stdout).toContain('the mailbox is now empty (0 messages left on the server)');
    expect(stdout).not.toContain('FAIL');
    expect(
      stdout.trimEnd().endsWith(`Demo passed. The stored messages and notifications.jsonl are in ${out}`),
    ).toBe(true);
    // What it says it checked is there: five message files and five notifications in --out.
    const files = readdirSync(out, { recursive: true }).map(String);
    expect(files.filter((file) => file.endsWith('.eml'))).toHaveLength(5);
    expect(readFileSync(path.join(out, 'notifications.jsonl'), 'utf8').trim().split('\n')).toHaveLength(5);
  });
});
