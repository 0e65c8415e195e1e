/**
 * Keep mode in the CLI as shipped (the bundle scripts/build.mjs builds, in its own `node`): with `--out`
 * the state is a file under the folder, with `--bucket` an object under `.state/` in S3 (fauxqs). Either
 * way the first run ingests everything and deletes nothing, and the second run finds nothing new.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const PASSWORD = 'keep-password';
const MESSAGES = Array.from({ length: 5 }, (_, i) =>
  Buffer.from(`Subject: kept ${i + 1}\r\n\r\nbody ${i + 1}\r\n`),
);

let buildDir: string;
let runner: string;
let aws: Fauxqs;
let server: MemoryPop3Server;
let configFile: string;

beforeAll(async () => {
  ({ dir: buildDir, runner } = await buildCliBundle('keep-cli-bundle-'));
  aws = await startFauxqs();
  server = await startMemoryPop3Server({
    users: [{ name: 'alice', password: PASSWORD, messages: MESSAGES }],
  });
  configFile = path.join(buildDir, 'mailboxes.json');
  const mailbox = {
    id: 'kept',
    host: server.host,
    port: server.port,
    tls: 'none',
    allowInsecureAuth: true,
    username: 'alice',
    password: PASSWORD,
    keep: true,
  };
  await writeFile(configFile, JSON.stringify({ mailboxes: [mailbox] }));
}, 180_000);

afterAll(async () => {
  await server?.close();
  await aws?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<CliRun> {
  return runBuiltCli(runner, ['poll', '--config', configFile, ...args], {
    cwd: buildDir,
    env: { ...aws.env, PATH: process.env.PATH ?? '' },
  });
}

describe('the bundled CLI in keep mode', () => {
  it('with --out: a state file, nothing deleted, the second run ingests nothing', {
    timeout: 60_000,
  }, async () => {
    const out = path.join(buildDir, 'out');
    const first = await cli(['--out', out]);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^kept: ok — 5 found, 5 retrieved .* 0 deleted, .*\(keep: 0 kept, 5 newly ingested, 0 deleted after days\)/,
    );
    expect(existsSync(path.join(out, '.state', 'kept.jsonl.gz'))).toBe(true);
    const second = await cli(['--out', out]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/0 retrieved .*\(keep: 5 kept, 0 newly ingested, 0 deleted after days\)/);
    expect(server.messages('alice')).toHaveLength(5);
  });

  it('with --bucket and --queue-url: the state object in S3, the second run ingests nothing', {
    timeout: 60_000,
  }, async () => {
    await aws.createBucket('kept-mail');
    const queueUrl = await aws.createQueue('kept-notifications');
    const args = ['--bucket', 'kept-mail', '--queue-url', queueUrl];
    const first = await cli(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('(keep: 0 kept, 5 newly ingested, 0 deleted after days)');
    expect(await aws.listKeys('kept-mail', '.state/')).toEqual(['.state/kept.jsonl.gz']);
    const second = await cli(args);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('(keep: 5 kept, 0 newly ingested, 0 deleted after days)');
    expect(await aws.receiveAll(queueUrl)).toHaveLength(5);
    expect(server.messages('alice')).toHaveLength(5);
  });
});
