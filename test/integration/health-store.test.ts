/**
 * The health stores: S3 against fauxqs (real reads, writes and listings; the emulator ignores If-Match and
 * If-None-Match, so a middleware answers 412 the way S3 does, from the object's real ETag) and the local
 * files. And what a guarded run does when the record cannot be read: it polls, and overwrites nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { LocalHealthStore } from '../../lib/adapters/local-health-store.ts';
import { HealthStoreError, S3HealthStore } from '../../lib/adapters/s3-health-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollGuarded } from '../../lib/health/guarded-poll.ts';
import type { MailboxHealth } from '../../lib/health/record.ts';
import { type MailboxHealthStore, StateConflictError } from '../../lib/ports.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { localPorts } from '../support/pipeline-ports.ts';

const RECORD: MailboxHealth = {
  mailboxId: 'support',
  state: 'needs-attention',
  since: '2026-03-01T10:00:00.000Z',
  failures: 1,
  reason: 'auth',
  message: 'the credentials were refused: -ERR [AUTH] Authentication failed.',
  nextAttemptAt: '2026-03-01T11:00:00.000Z',
  heldAttempts: 0,
  fingerprint: 's1:salt:hash',
};

let aws: Fauxqs;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  aws = await startFauxqs();
  await aws.createBucket('health');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => aws?.stop());

/** A client of the emulator that answers a failed If-Match / If-None-Match with 412, as S3 does. */
function conditionalClient(): S3Client {
  const client = new S3Client({
    endpoint: aws.endpoint,
    region: aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket: string; Key: string; IfMatch?: string; IfNoneMatch?: string };
      if (context.commandName === 'PutObjectCommand') {
        const etag = await aws.s3
          .send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }))
          .then((head) => head.ETag)
          .catch(() => undefined);
        if ((input.IfNoneMatch === '*' && etag !== undefined) || (input.IfMatch && input.IfMatch !== etag))
          throw Object.assign(new Error('precondition failed'), { $metadata: { httpStatusCode: 412 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'conditionalWrites' },
  );
  cleanups.push(() => client.destroy());
  return client;
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'health-store-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What every store must do: load what it saved, refuse a stale or a blind write, list its records. */
async function contract(store: MailboxHealthStore) {
  expect(await store.load('support')).toBeUndefined();
  const first = await store.save(RECORD, undefined);
  expect(await store.load('support')).toEqual({ health: RECORD, version: first });
  await expect(store.save({ ...RECORD, failures: 9 }, undefined)).rejects.toBeInstanceOf(StateConflictError);
  const second = await store.save({ ...RECORD, failures: 2 }, first);
  await expect(store.save({ ...RECORD, failures: 3 }, first)).rejects.toBeInstanceOf(StateConflictError);
  expect((await store.load('support'))?.version).toBe(second);
  await store.save({ ...RECORD, mailboxId: 'billing', state: 'ok', failures: 0 }, undefined);
  expect((await store.list()).map((r) => `${r.mailboxId} ${r.state} ${r.failures}`).sort()).toEqual([
    'billing ok 0',
    'support needs-attention 2',
  ]);
}

describe('health stores', () => {
  test('S3: <keyPrefix>.health/<id>.json, conditional writes, a listing of the prefix', async () => {
    const store = new S3HealthStore({ client: conditionalClient(), bucket: 'health', keyPrefix: 'p/' });
    await contract(store);
    expect(await aws.listKeys('health', 'p/.health/')).toEqual([
      'p/.health/billing.json',
      'p/.health/support.json',
    ]);
    const stored = JSON.parse((await aws.getObject('health', 'p/.health/support.json')).toString('utf8'));
    expect(stored).toMatchObject({ version: 1, mailboxId: 'support', failures: 2 });
  });

  test('S3: a record that is not ours is an error that says where, not a held-back mailbox', async () => {
    const store = new S3HealthStore({ client: aws.s3, bucket: 'health', keyPrefix: 'bad/' });
    await aws.s3.send(new PutObjectCommand({ Bucket: 'health', Key: 'bad/.health/support.json', Body: '{' }));
    await expect(store.load('support')).rejects.toThrow(/health record of support is not JSON/);
    const missing = new S3HealthStore({ client: aws.s3, bucket: 'no-such-bucket' });
    const error = await missing.load('support').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HealthStoreError);
    expect(String(error)).toContain('s3://no-such-bucket/.health/support.json');
  });

  test('S3 without s3:ListBucket-style 404s: a 403 on a missing record is told from a refusal by a listing', async () => {
    const client = conditionalClient();
    let listingAllowed = true;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const refuse = () => {
          throw Object.assign(new Error('Access Denied'), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        };
        if (context.commandName === 'GetObjectCommand') {
          const result = await next(args).catch(refuse); // S3 answers a missing key so without ListBucket
          return result;
        }
        if (context.commandName === 'ListObjectsV2Command' && !listingAllowed) refuse();
        return next(args);
      },
      { step: 'initialize', name: 'forbidMissing' },
    );
    const store = new S3HealthStore({ client, bucket: 'health', keyPrefix: 'forbidden/' });
    expect(await store.load('support')).toBeUndefined();
    listingAllowed = false;
    await expect(store.load('support')).rejects.toThrow(/GetObject failed: AccessDenied/);
  });

  test('local files: the same contract, under --out', async () => {
    const dir = tempDir();
    await contract(new LocalHealthStore({ outDir: dir }));
    expect(fs.readdirSync(path.join(dir, '.health')).sort()).toEqual(['billing.json', 'support.json']);
  });

  test('an unreadable record: the run polls anyway (logged) and does not overwrite it', async () => {
    const server = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages: [] }],
    });
    cleanups.push(() => server.close());
    const local = localPorts();
    cleanups.push(() => local.remove());
    const file = path.join(local.outDir, '.health', 'test.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, 'not json');
    const warnings: string[] = [];
    const logger = { info: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
    const outcome = await pollGuarded(
      testMailbox({ port: server.port }),
      { ...local, healthStore: new LocalHealthStore({ outDir: local.outDir }) },
      Deadline.after(10_000),
      { logger },
    );
    expect(outcome.status).toBe('ok');
    expect(outcome.health).toBeUndefined();
    expect(warnings).toEqual(['health record unreadable; polling without the circuit breaker']);
    expect(fs.readFileSync(file, 'utf8')).toBe('not json');
  });
});
