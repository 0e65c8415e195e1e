/**
 * A timed run only counts when it did the whole job: every message delivered once, the mailbox empty
 * afterwards, and where the contender promises byte-identical copies (the poller, the raw drain) every
 * copy hashing to one of the seeded messages. fetchmail and getmail add headers, so they are counted only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { MailboxOutcome } from '../lib/pipeline/outcome.ts';
import type { ContenderId, ContenderRun } from './contenders.ts';
import { type BenchEnvironment, BUCKET, QUEUE } from './environment.ts';
import { sha256Hex } from './messages.ts';

export interface Expectation {
  /** Messages seeded over all mailboxes of the run. */
  readonly messages: number;
  /** SHA-256 of every seeded message; the poller's object keys end in it. */
  readonly hashes: ReadonlySet<string>;
  /** Also read every S3 object back and hash it (slow; once per scenario is enough). */
  readonly readBackObjects: boolean;
}

const OBJECT_KEY_HASH = /([0-9a-f]{64})\.eml$/;

/** Throws, naming what is wrong, unless `run` delivered exactly what was seeded. */
export async function verifyRun(
  contender: ContenderId,
  run: ContenderRun,
  expect: Expectation,
  env: BenchEnvironment,
  users: readonly string[],
): Promise<void> {
  for (const user of users) {
    const left = await env.dovecot.messageCount(user);
    if (left !== 0) throw new Error(`${contender}: ${left} messages left in ${user}'s mailbox`);
  }
  switch (contender) {
    case 'poller-s3':
    case 'poller-local':
    case 'poller-discard':
      checkOutcomes(contender, run, expect);
      if (contender === 'poller-local') checkLocalStore(run.outDir, expect);
      if (contender === 'poller-s3') await checkS3(env, expect);
      return;
    case 'raw-drain':
      checkHashes(contender, filesUnder(run.outDir), expect);
      return;
    case 'fetchmail':
    case 'getmail': {
      const delivered = filesUnder(run.outDir).length;
      if (delivered !== expect.messages) {
        throw new Error(`${contender}: delivered ${delivered} of ${expect.messages} messages`);
      }
      return;
    }
  }
}

function checkOutcomes(contender: ContenderId, run: ContenderRun, expect: Expectation): void {
  const outcomes = JSON.parse(run.process.stdout) as MailboxOutcome[];
  const failed = outcomes.filter((outcome) => outcome.status !== 'ok' || !outcome.quitConfirmed);
  if (failed.length > 0) {
    throw new Error(`${contender}: ${failed.length} mailboxes failed, e.g. ${JSON.stringify(failed[0])}`);
  }
  const deleted = outcomes.reduce((sum, outcome) => sum + outcome.counts.deleted, 0);
  if (deleted !== expect.messages) {
    throw new Error(`${contender}: deleted ${deleted} of ${expect.messages} messages`);
  }
}

function checkLocalStore(outDir: string, expect: Expectation): void {
  const files = filesUnder(outDir);
  const objects = files.filter((file) => file.endsWith('.eml'));
  checkHashes('poller-local', objects, expect);
  const notifications = files.find((file) => path.basename(file) === 'notifications.jsonl');
  const lines = notifications ? fs.readFileSync(notifications, 'utf8').trimEnd().split('\n').length : 0;
  if (lines !== expect.messages) {
    throw new Error(`poller-local: ${lines} notifications for ${expect.messages} messages`);
  }
}

async function checkS3(env: BenchEnvironment, expect: Expectation): Promise<void> {
  // Each mailbox's health record (`.health/<id>.json`) is not a message and not a stray object.
  const keys = (await env.fauxqs.listKeys(BUCKET)).filter((key) => !/(^|\/)\.health\//.test(key));
  const stored = keys.filter((key) => OBJECT_KEY_HASH.test(key));
  if (stored.length !== keys.length)
    throw new Error(`poller-s3: stray objects left: ${keys.length - stored.length}`);
  const keyHashes = stored.map((key) => OBJECT_KEY_HASH.exec(key)![1]!);
  checkDistinct('poller-s3', keyHashes, expect);
  if (expect.readBackObjects) {
    const read = await Promise.all(
      stored.map(async (key) => sha256Hex(await env.fauxqs.getObject(BUCKET, key))),
    );
    checkDistinct('poller-s3 (objects read back)', read, expect);
  }
  const queued = env.fauxqs.server.inspectQueue(QUEUE)?.messages.ready.length ?? 0;
  if (queued !== expect.messages) {
    throw new Error(`poller-s3: ${queued} notifications queued for ${expect.messages} messages`);
  }
}

function checkHashes(contender: string, files: readonly string[], expect: Expectation): void {
  checkDistinct(
    contender,
    files.map((file) => sha256Hex(fs.readFileSync(file))),
    expect,
  );
}

/** Exactly one copy of each seeded message, none altered. */
function checkDistinct(contender: string, hashes: readonly string[], expect: Expectation): void {
  const unknown = hashes.filter((hash) => !expect.hashes.has(hash)).length;
  const distinct = new Set(hashes).size;
  if (hashes.length !== expect.messages || distinct !== expect.messages || unknown > 0) {
    throw new Error(
      `${contender}: ${hashes.length} copies (${distinct} distinct, ${unknown} not byte-identical to any seeded message) of ${expect.messages} messages`,
    );
  }
}

function filesUnder(folder: string): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs
    .readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}
