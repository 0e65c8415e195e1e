/**
 * One untimed loopback run of the poller under `node --cpu-prof`, on the unminified bundle, summarized
 * by profile.ts: where the time of the measured runs goes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildBundles } from '../bundles.ts';
import { pollerContender } from '../contenders.ts';
import { contestUser } from '../contest.ts';
import type { BenchEnvironment } from '../environment.ts';
import { sha256Hex, syntheticMessages } from '../messages.ts';
import { BundleMap, summarizeProfiles } from '../profile.ts';
import type { ProfiledRun } from '../results.ts';
import { verifyRun } from '../verify.ts';

/** Rows kept per table. */
const TOP_ROWS = 15;

export async function profilePoller(
  env: BenchEnvironment,
  bundles: ChildBundles,
  destination: ProfiledRun['destination'],
  messages: number,
  messageBytes: number,
  profileDir: string,
): Promise<ProfiledRun> {
  const unminified = bundles.pollerForProfiling;
  if (unminified === undefined)
    throw new Error('profiling needs the unminified bundle (buildBundles forProfiling)');
  const toS3 = destination === 'S3+SQS';
  const contender = pollerContender({ ...bundles, poller: unminified }, toS3 ? env.aws : undefined, {
    nodeOptions: ['--cpu-prof', '--cpu-prof-dir', profileDir],
  });
  const seeded = syntheticMessages(messages, messageBytes);
  const user = contestUser(contender.id);
  await env.dovecot.seed(user, seeded);
  if (toS3) env.resetAws();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-bench-'));
  try {
    fs.rmSync(profileDir, { recursive: true, force: true });
    const run = await contender.run(env.direct, [env.account(user)], workDir);
    const expect = { messages, hashes: new Set(seeded.map(sha256Hex)), readBackObjects: false };
    await verifyRun(contender.id, run, expect, env, [user]);
    return {
      destination,
      messages,
      wallSeconds: run.process.wallMs / 1000,
      summary: summarizeProfiles(profileDir, new BundleMap(unminified), TOP_ROWS),
    };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
    await env.dovecot.clear(user);
  }
}
