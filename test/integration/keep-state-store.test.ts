/**
 * The keep-mode state stores: the S3 one against fauxqs (real reads and writes; the emulator ignores
 * If-Match and If-None-Match, so a middleware answers 412 the way S3 does, from the object's real ETag),
 * the local one on disk, and what a run does when two writers race: the loser fails safe (no QUIT,
 * nothing deleted, `state-conflict`) and the next run goes on from the winner's state.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { LocalStateStore, STALE_LOCK_MS, stateKeyFor } from '../../lib/adapters/local-state-store.ts';
import { S3StateStore } from '../../lib/adapters/s3-state-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { type MailboxState, type MailboxStateStore, StateConflictError } from '../../lib/ports.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { testMailbox } from '../support/mailbox.ts';
import { startMemoryPop3Server } from '../support/memory-pop3-server.ts';
import { localPorts } from '../support/pipeline-ports.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const STATE: MailboxState = {
  messages: [
    { uidl: '00000001abcdef', size: 1234, ingestedAt: Date.UTC(2026, 0, 1) },
    { uidl: 'quote"back\\slash', size: 1, ingestedAt: undefined },
    { uidl: 'caf\u00e9-8bit', size: 99, ingestedAt: 0 },
  ],
};

let aws: Fauxqs;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  aws = await startFauxqs();
  await aws.createBucket('state');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => aws?.stop());

/** S3's conditional writes, from the object's real ETag; records the conditions each PutObject carried. */
function emulateConditions(
  client: S3Client,
  s3: S3Client,
): Array<{ IfMatch?: string; IfNoneMatch?: string }> {
  const seen: Array<{ IfMatch?: string; IfNoneMatch?: string }> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket: string; Key: string; IfMatch?: string; IfNoneMatch?: string };
      if (context.commandName === 'PutObjectCommand') {
        seen.push({ IfMatch: input.IfMatch, IfNoneMatch: input.IfNoneMatch });
        const etag = await s3
          .send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }))
          .then((head) => head.ETag)
          .catch(() => undefined);
        const failed =
          (input.IfNoneMatch === '*' && etag !== undefined) ||
          (input.IfMatch !== undefined && input.IfMatch !== etag);
        if (failed) {
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
            name: 'PreconditionFailed',
            $metadata: { httpStatusCode: 412 },
          });
        }
      }
      return next(args);
    },
    { step: 'initialize', name: 'emulateConditionalStateWrites' },
  );
  return seen;
}

describe('S3StateStore against fauxqs', () => {
  test('loads nothing at first, then exactly what was saved, at the key under the reserved prefix', async () => {
    const store = new S3StateStore({ client: aws.s3, bucket: 'state', keyPrefix: 'mail/' });
    expect(await store.load('roundtrip')).toBeUndefined();
    const version = await store.save('roundtrip', STATE, undefined);
    const loaded = await store.load('roundtrip');
    expect(loaded).toEqual({ state: STATE, version });
    expect(await aws.listKeys('state', 'mail/.state/')).toEqual([stateKeyFor('mail/', 'roundtrip')]);
    expect(stateKeyFor('mail/', 'roundtrip')).toBe('mail/.state/roundtrip.jsonl.gz');
  });

  test('two writers: the first write is If-None-Match *, updates If-Match; the writer that lost the race gets a conflict', async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: aws.endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    cleanups.push(() => client.destroy());
    const conditions = emulateConditions(client, aws.s3);
    const a = new S3StateStore({ client, bucket: 'state' });
    const b = new S3StateStore({ client, bucket: 'state' });
    await a.save('race', STATE, undefined);
    // Both load the same version; b saves first.
    const seenByA = await a.load('race');
    const seenByB = await b.load('race');
    await b.save('race', { messages: STATE.messages.slice(0, 1) }, seenByB?.version);
    await expect(a.save('race', { messages: [] }, seenByA?.version)).rejects.toBeInstanceOf(
      StateConflictError,
    );
    // A second first write (no state seen) loses too.
    await expect(a.save('race', { messages: [] }, undefined)).rejects.toThrow(/written by another poller/);
    expect(conditions).toEqual([
      { IfMatch: undefined, IfNoneMatch: '*' },
      { IfMatch: seenByB?.version, IfNoneMatch: undefined },
      { IfMatch: seenByA?.version, IfNoneMatch: undefined },
      { IfMatch: undefined, IfNoneMatch: '*' },
    ]);
    // The winner's state is what stays.
    expect((await b.load('race'))?.state.messages).toHaveLength(1);
  });
});

describe('S3StateStore without s3:ListBucket on the whole bucket', () => {
  test('a 403 for a missing state object is "no state yet" only when listing the key shows nothing', async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: aws.endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    cleanups.push(() => client.destroy());
    // S3 answers GetObject with 403 where the reader may not list the bucket, whether or not the key exists.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') {
          throw Object.assign(new Error('Access Denied'), {
            name: 'AccessDenied',
            $metadata: { httpStatusCode: 403 },
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'deny' },
    );
    const store = new S3StateStore({ client, bucket: 'state' });
    expect(await store.load('never-saved')).toBeUndefined();
    await new S3StateStore({ client: aws.s3, bucket: 'state' }).save('saved', STATE, undefined);
    await expect(store.load('saved')).rejects.toThrow(
      /GetObject failed: AccessDenied: Access Denied \(HTTP 403\)/,
    );
  });
});

describe('LocalStateStore', () => {
  test('saves atomically, loads back, and refuses a save based on an old version', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-state-'));
    cleanups.push(() => fs.rmSync(outDir, { recursive: true, force: true }));
    const a = new LocalStateStore({ outDir });
    const b = new LocalStateStore({ outDir });
    expect(await a.load('m')).toBeUndefined();
    const v1 = await a.save('m', STATE, undefined);
    expect(await b.load('m')).toEqual({ state: STATE, version: v1 });
    await b.save('m', { messages: [] }, v1);
    await expect(a.save('m', STATE, v1)).rejects.toBeInstanceOf(StateConflictError);
    await expect(a.save('m', STATE, undefined)).rejects.toBeInstanceOf(StateConflictError);
    expect((await a.load('m'))?.state.messages).toEqual([]);
    // No temporary or lock file is left behind.
    expect(fs.readdirSync(path.join(outDir, '.state'))).toEqual(['m.jsonl.gz']);
  });

  test('a save in progress elsewhere (a fresh lock file) is a conflict; a stale lock left by a killed process is removed', async () => {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailbox-poller-state-'));
    cleanups.push(() => fs.rmSync(outDir, { recursive: true, force: true }));
    const store = new LocalStateStore({ outDir });
    const lock = path.join(outDir, '.state', 'm.jsonl.gz.lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, '');
    await expect(store.save('m', STATE, undefined)).rejects.toThrow(/being saved by another process/);
    const old = new Date(Date.now() - STALE_LOCK_MS - 60_000);
    fs.utimesSync(lock, old, old);
    expect(await store.save('m', STATE, undefined)).toBe('1');
    expect(fs.existsSync(lock)).toBe(false);
  });
});

describe('a keep-mode run and its state', () => {
  const message = (subject: string) => Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`);

  async function server(messages: Buffer[], options: { uidl?: boolean } = {}) {
    const started = await startMemoryPop3Server({
      users: [{ name: 'alice', password: 'secret', messages }],
      ...options,
    });
    cleanups.push(() => started.close());
    return started;
  }

  test('another writer saves during the run: this run fails safe, deletes nothing, and the next run goes on', async () => {
    const pop3 = await server([message('old'), message('new')]);
    const local = localPorts();
    cleanups.push(() => local.remove());
    const now = Date.UTC(2026, 5, 1);
    const inner = new LocalStateStore({ outDir: local.outDir });
    // 'old' was ingested ten days ago; deleteAfterDays 1 makes it due for DELE in this run.
    const size = pop3.messages('alice')[0]!.length; // its LIST size: these bytes are already CRLF
    const sha256 = createHash('sha256').update(pop3.messages('alice')[0]!).digest('hex'); // as stored
    const oldUidl = await firstUidl(pop3.port);
    await inner.save(
      'test',
      { messages: [{ uidl: oldUidl, size, ingestedAt: now - 10 * DAY_MS, sha256 }] },
      undefined,
    );
    let raced = false;
    const racing: MailboxStateStore = {
      load: (id) => inner.load(id),
      async save(id, state, version) {
        if (!raced) {
          raced = true;
          const other = await inner.load(id);
          await new LocalStateStore({ outDir: local.outDir }).save(id, other!.state, other!.version);
        }
        return inner.save(id, state, version);
      },
    };
    const mailbox = testMailbox({ port: pop3.port, keep: { deleteAfterDays: 1, initial: 'all' } });
    const ports = { ...local, clock: { now: () => new Date(now) }, stateStore: racing };
    const lost = await pollMailbox(mailbox, ports, Deadline.after(20_000));
    expect(lost).toMatchObject({ status: 'retry-later', reason: 'state-conflict', quitConfirmed: false });
    expect(lost.message).toMatch(/changed since this run loaded it/);
    expect(pop3.commands()).toContain('DELE 1');
    expect(pop3.commands()).not.toContain('QUIT');
    expect(pop3.messages('alice')).toHaveLength(2); // the DELE was never committed
    expect(local.notifications()).toHaveLength(1); // 'new' was ingested; its UIDL is not in the state

    const next = await pollMailbox(mailbox, ports, Deadline.after(20_000));
    expect(next).toMatchObject({ status: 'ok', counts: { deleted: 1 } });
    expect(next.keep).toMatchObject({ ingested: 1, deletedAfterDays: 1 });
    expect(pop3.messages('alice')).toEqual([message('new')]);
    // 'new' was notified twice (at least once), stored once.
    expect(local.notifications()).toHaveLength(2);
    expect([...local.objects().keys()].filter((key) => !key.startsWith('.state/'))).toHaveLength(1);
  });

  test('with the S3 state store: a 412 on the state write fails the run safe, and the next run goes on', async () => {
    const pop3 = await server([message('one'), message('two')]);
    const local = localPorts();
    cleanups.push(() => local.remove());
    const { S3Client } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: aws.endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    cleanups.push(() => client.destroy());
    emulateConditions(client, aws.s3);
    const store = new S3StateStore({ client, bucket: 'state', keyPrefix: 'run/' });
    // A second writer (another poller) writes the state while this run is between its load and its save.
    let raced = false;
    const racing: MailboxStateStore = {
      load: (id, options) => store.load(id, options),
      async save(id, state, version, options) {
        if (!raced) {
          raced = true;
          await new S3StateStore({ client, bucket: 'state', keyPrefix: 'run/' }).save(
            id,
            { messages: [] },
            version,
          );
        }
        return store.save(id, state, version, options);
      },
    };
    const mailbox = testMailbox({
      id: 'run-race',
      port: pop3.port,
      keep: { deleteAfterDays: undefined, initial: 'all' },
    });
    const lost = await pollMailbox(mailbox, { ...local, stateStore: racing }, Deadline.after(20_000));
    expect(lost).toMatchObject({ status: 'retry-later', reason: 'state-conflict', counts: { deleted: 0 } });
    expect(lost.message).toMatch(/HTTP 412/);
    expect(pop3.commands()).not.toContain('QUIT');
    const next = await pollMailbox(mailbox, { ...local, stateStore: racing }, Deadline.after(20_000));
    // The winner's state was empty, so both messages are ingested again: same objects, notified again.
    expect(next).toMatchObject({ status: 'ok', keep: { ingested: 2, kept: 0 } });
    const again = await pollMailbox(mailbox, { ...local, stateStore: racing }, Deadline.after(20_000));
    expect(again.keep).toMatchObject({ ingested: 0, kept: 2 });
    expect(pop3.messages('alice')).toHaveLength(2);
    expect([...local.objects().keys()].filter((key) => !key.startsWith('.state/'))).toHaveLength(2);
  });

  test('a server without UIDL is refused in keep mode before anything is retrieved', async () => {
    const pop3 = await server([message('a')], { uidl: false });
    const local = localPorts();
    cleanups.push(() => local.remove());
    const mailbox = testMailbox({ port: pop3.port, keep: { deleteAfterDays: undefined, initial: 'all' } });
    const outcome = await pollMailbox(
      mailbox,
      { ...local, stateStore: new LocalStateStore({ outDir: local.outDir }) },
      Deadline.after(20_000),
    );
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: 'no-uidl',
      counts: { retrieved: 0, deleted: 0 },
    });
    expect(outcome.message).toMatch(/does not offer UIDL/);
    expect(pop3.commands().some((command) => command.startsWith('RETR'))).toBe(false);
    expect(pop3.messages('alice')).toHaveLength(1);
  });

  test('an unreadable state fails the run (state-store) instead of ingesting everything again as if new', async () => {
    const pop3 = await server([message('a')]);
    const local = localPorts();
    cleanups.push(() => local.remove());
    fs.mkdirSync(path.join(local.outDir, '.state'));
    fs.writeFileSync(path.join(local.outDir, '.state', 'test.jsonl.gz'), 'not gzip');
    const mailbox = testMailbox({ port: pop3.port, keep: { deleteAfterDays: undefined, initial: 'all' } });
    const outcome = await pollMailbox(
      mailbox,
      { ...local, stateStore: new LocalStateStore({ outDir: local.outDir }) },
      Deadline.after(20_000),
    );
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'state-store', counts: { retrieved: 0 } });
    expect(local.notifications()).toHaveLength(0);
  });
});

/** The UIDL the server gives message 1. */
async function firstUidl(port: number): Promise<string> {
  const { Pop3Client } = await import('../../lib/pop3-client/client.ts');
  const client = await Pop3Client.connect({ host: '127.0.0.1', port, tls: 'none', allowInsecureAuth: true });
  await client.login({ kind: 'password', username: 'alice', password: 'secret' }, 'auto');
  const uidls = await client.uidl();
  client.abort(new Error('done'));
  return uidls[0]!.uidl;
}
