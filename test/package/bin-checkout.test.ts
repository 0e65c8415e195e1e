/**
 * bin/mailbox-poller.js in a checkout that was never built (`npm ci` no longer builds: the build is
 * `prepack`): `npx mailbox-poller …`, as `npm run dev-server` prints it, runs the CLI from the sources
 * instead of refusing. The checkout here is a folder with bin/ copied and lib/ and node_modules linked, so
 * whether this worktree has a dist/ does not matter.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const checkout = mkdtempSync(path.join(tmpdir(), 'unbuilt-checkout-'));
afterAll(() => rmSync(checkout, { recursive: true, force: true }));

describe('the mailbox-poller command in an unbuilt checkout', () => {
  it('runs the CLI from the sources', { timeout: 60_000 }, async () => {
    cpSync(path.join(ROOT, 'bin'), path.join(checkout, 'bin'), { recursive: true });
    cpSync(path.join(ROOT, 'package.json'), path.join(checkout, 'package.json'));
    for (const folder of ['lib', 'node_modules'])
      symlinkSync(path.join(ROOT, folder), path.join(checkout, folder));
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(checkout, 'bin', 'mailbox-poller.js'), '--version'],
      { cwd: checkout },
    );
    // The version compiled into a bundle would be the package's; the sources say what they are.
    expect({ stdout, stderr }).toEqual({ stdout: 'development\n', stderr: '' });
  });
});
