/**
 * The keep-mode proofs and bounds in the CLI as shipped (the bundle scripts/build.mjs builds, in its own
 * `node`). deleteAfterDays: a state entry whose stored digest is not what the server now has under that
 * unique-id and size (the server reused it) is not deleted but ingested as the new message it is, while
 * the entry whose digest matches is deleted. A listing past keep mode's octet cap fails the mailbox with
 * `listing-too-long` and a non-zero exit.
 */
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeState, encodeState } from '../../lib/adapters/mailbox-state-codec.ts';
import { KEEP_MODE_MAX_LISTING_OCTETS } from '../../lib/pop3/limits.ts';
import { buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type LyingServer, startLyingServer } from '../support/lying-pop3-server.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const PASSWORD = 'keep-password';
const DAY_MS = 24 * 60 * 60 * 1000;
const MESSAGES = [
  Buffer.from('Subject: one\r\n\r\nbody 1\r\n'),
  Buffer.from('Subject: two\r\n\r\nbody 2\r\n'),
];

let buildDir: string;
let runner: string;
let pop3: MemoryPop3Server;
let lying: LyingServer;

beforeAll(async () => {
  ({ dir: buildDir, runner } = await buildCliBundle('keep-bounds-cli-bundle-'));
  pop3 = await startMemoryPop3Server({ users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }] });
  // 20,000 unique-ids of 1,000 octets: 20 MB of UIDL listing.
  lying = await startLyingServer({
    count: 20_000,
    listedSize: () => 100,
    bodySize: () => 100,
    uidl: (msg) => String(msg).padStart(1000, 'u'),
  });
}, 180_000);

afterAll(async () => {
  await pop3?.close();
  await lying?.close();
  await rm(buildDir, { recursive: true, force: true });
});

async function cli(id: string, port: number, keepFields: object, out: string): Promise<CliRun> {
  const configFile = path.join(buildDir, `${id}.json`);
  const mailbox = { id, host: '127.0.0.1', port, tls: 'none', allowInsecureAuth: true, username: 'alice' };
  await writeFile(
    configFile,
    JSON.stringify({ mailboxes: [{ ...mailbox, password: PASSWORD, keep: true, ...keepFields }] }),
  );
  return runBuiltCli(runner, ['poll', '--config', configFile, '--out', out], {
    cwd: buildDir,
    env: { PATH: process.env.PATH ?? '' },
  });
}

describe('the bundled CLI in keep mode', () => {
  it('deleteAfterDays deletes the message whose digest matches and ingests the one that differs', {
    timeout: 60_000,
  }, async () => {
    const out = path.join(buildDir, 'proof');
    const first = await cli('kept', pop3.port, { deleteAfterDays: 30 }, out);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('(keep: 0 kept, 2 newly ingested, 0 deleted after days)');
    // Forty days pass; meanwhile the server reused message 2's unique-id for a message of the same size
    // (as the state sees it: what was stored under it has another digest).
    const stateFile = path.join(out, '.state', 'kept.jsonl.gz');
    const { state, counter } = decodeState('kept', await readFile(stateFile));
    // The state lists entries in the order they were committed, which concurrent stores may change.
    const digests = MESSAGES.map((bytes) => createHash('sha256').update(bytes).digest('hex'));
    expect(state.messages.map((kept) => kept.sha256).sort()).toEqual([...digests].sort());
    const aged = state.messages.map((kept) => ({
      ...kept,
      ingestedAt: Date.now() - 40 * DAY_MS,
      ...(kept.sha256 === digests[1]
        ? { sha256: createHash('sha256').update('another message').digest('hex') }
        : {}),
    }));
    await writeFile(stateFile, encodeState('kept', { messages: aged }, counter));

    const second = await cli('kept', pop3.port, { deleteAfterDays: 30 }, out);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/1 retrieved .* 1 deleted, /);
    expect(second.stdout).toContain(
      '(keep: 1 kept, 1 newly ingested, 1 deleted after days, 1 reused unique-ids ingested as new)',
    );
    expect(pop3.messages('alice')).toEqual([MESSAGES[1]]);
    const notifications = (await readFile(path.join(out, 'notifications.jsonl'), 'utf8')).trim().split('\n');
    expect(notifications).toHaveLength(3);
  });

  it('a listing past the octet cap fails the mailbox with listing-too-long', {
    timeout: 60_000,
  }, async () => {
    const run = await cli('huge', lying.port, { initial: 'none' }, path.join(buildDir, 'huge'));
    expect(run.status).not.toBe(0);
    expect(run.stdout).toMatch(/^huge: failed \(listing-too-long\)/m);
    expect(`${run.stdout}${run.stderr}`).toContain(`more than ${KEEP_MODE_MAX_LISTING_OCTETS} octets`);
    expect(lying.deleted.size).toBe(0);
  });
});
