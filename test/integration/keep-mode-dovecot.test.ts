/**
 * Keep mode against a real Dovecot: nothing is drained, a later run ingests only what arrived in between,
 * deleteAfterDays deletes exactly the messages ingested long enough ago (clock injected), `initial`
 * decides the first run, and a UIDL the server reuses for another message does not hide it. Objects and
 * notifications go through the real local adapters; the state through the local state store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalStateStore } from '../../lib/adapters/local-state-store.ts';
import type { InitialIngest } from '../../lib/config/types.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import type { Clock } from '../../lib/ports.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { testMailbox } from '../support/mailbox.ts';
import { type LocalPorts, localPorts } from '../support/pipeline-ports.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const USERS = ['drain', 'later', 'days', 'none', 'newest', 'reuse', 'count'].map((name) => ({
  name,
  password: `${name}-pw`,
}));

const message = (subject: string, body = 'Hello.') =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);

/** A clock the test moves by hand. */
function handClock(start = Date.UTC(2026, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

let dovecot: DovecotServer;
const cleanups: Array<() => unknown> = [];
beforeAll(async () => {
  dovecot = await startDovecot({ users: USERS });
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await dovecot?.stop();
});

function setup(
  user: string,
  keep: { deleteAfterDays?: number; initial?: InitialIngest } = {},
  clock = handClock(),
) {
  const local: LocalPorts = localPorts({ clock });
  cleanups.push(() => local.remove());
  const ports = { ...local, stateStore: new LocalStateStore({ outDir: local.outDir }) };
  const mailbox = testMailbox({
    id: user,
    host: dovecot.host,
    port: dovecot.pop3Port,
    username: user,
    credential: { literal: `${user}-pw` },
    keep: { deleteAfterDays: keep.deleteAfterDays, initial: keep.initial ?? 'all' },
  });
  const poll = () => pollMailbox(mailbox, ports, Deadline.after(30_000));
  // Notifications of one batch are written in the order their stores finished: compare as sets.
  const subjects = () =>
    local
      .notifications()
      .map((n) => n.mail.commonHeaders.subject ?? '')
      .sort();
  const objectKeys = () => [...local.objects().keys()].filter((key) => !key.startsWith('.state/'));
  return { local, poll, subjects, objectKeys, clock };
}

describe('keep mode against Dovecot', () => {
  test('drains nothing: every message is ingested once and stays on the server', async () => {
    const { poll, subjects, objectKeys } = setup('drain');
    await dovecot.seed('drain', [message('a'), message('b'), message('c')]);
    const outcome = await poll();
    expect(outcome).toMatchObject({
      status: 'ok',
      counts: { found: 3, stored: 3, notified: 3, deleted: 0, left: 3 },
    });
    expect(outcome.keep).toEqual({ kept: 0, ingested: 3, deletedAfterDays: 0, recordedByInitial: 0 });
    expect(await dovecot.messageCount('drain')).toBe(3);
    expect(subjects().sort()).toEqual(['a', 'b', 'c']);
    expect(objectKeys()).toHaveLength(3);
  });

  test('a second run ingests only what arrived in between; a third run ingests nothing', async () => {
    const { poll, subjects } = setup('later');
    await dovecot.seed('later', [message('old-1'), message('old-2')]);
    expect((await poll()).keep?.ingested).toBe(2);
    await dovecot.seed('later', [message('new-1'), message('new-2'), message('new-3')]);
    const second = await poll();
    expect(second).toMatchObject({ status: 'ok', counts: { found: 5, retrieved: 3, deleted: 0 } });
    expect(second.keep).toEqual({ kept: 2, ingested: 3, deletedAfterDays: 0, recordedByInitial: 0 });
    const third = await poll();
    expect(third).toMatchObject({ status: 'ok', counts: { found: 5, retrieved: 0 } });
    expect(third.keep).toMatchObject({ kept: 5, ingested: 0 });
    expect(subjects()).toEqual(['new-1', 'new-2', 'new-3', 'old-1', 'old-2']);
    expect(await dovecot.messageCount('later')).toBe(5);
  });

  test('deleteAfterDays deletes exactly the messages ingested that many days ago, then prunes them', async () => {
    const { poll, clock, local } = setup('days', { deleteAfterDays: 2 });
    await dovecot.seed('days', [message('day-0a'), message('day-0b')]);
    expect((await poll()).keep?.ingested).toBe(2);
    clock.advance(1 * DAY_MS);
    await dovecot.seed('days', [message('day-1a'), message('day-1b')]);
    expect((await poll()).keep).toMatchObject({ ingested: 2, deletedAfterDays: 0 });
    expect(await dovecot.messageCount('days')).toBe(4);
    // 2.5 days after the first ingest, 1.5 after the second: only the first two are due.
    clock.advance(1.5 * DAY_MS);
    const third = await poll();
    expect(third).toMatchObject({ status: 'ok', counts: { deleted: 2, retrieved: 0 } });
    expect(third.keep).toEqual({ kept: 4, ingested: 0, deletedAfterDays: 2, recordedByInitial: 0 });
    expect(await dovecot.messageCount('days')).toBe(2);
    // The next run no longer lists them: they leave the state; nothing is ingested again.
    const fourth = await poll();
    expect(fourth.keep).toEqual({ kept: 2, ingested: 0, deletedAfterDays: 0, recordedByInitial: 0 });
    const state = await new LocalStateStore({ outDir: local.outDir }).load('days');
    expect(state?.state.messages).toHaveLength(2);
    expect(
      local
        .notifications()
        .map((n) => n.mail.commonHeaders.subject)
        .sort(),
    ).toEqual(['day-0a', 'day-0b', 'day-1a', 'day-1b']);
  });

  test('initial "none" records what is there and ingests only what arrives later; never deletes it', async () => {
    const { poll, subjects, clock } = setup('none', { initial: 'none', deleteAfterDays: 1 });
    await dovecot.seed('none', [message('before-1'), message('before-2'), message('before-3')]);
    const first = await poll();
    expect(first).toMatchObject({ status: 'ok', counts: { found: 3, retrieved: 0, deleted: 0 } });
    expect(first.keep).toEqual({ kept: 0, ingested: 0, deletedAfterDays: 0, recordedByInitial: 3 });
    await dovecot.seed('none', [message('after-1')]);
    clock.advance(5 * DAY_MS);
    const second = await poll();
    // Only the message ingested by this mailbox counts for deleteAfterDays; the recorded ones were never ingested.
    expect(second.keep).toEqual({ kept: 3, ingested: 1, deletedAfterDays: 0, recordedByInitial: 0 });
    expect(subjects()).toEqual(['after-1']);
    expect(await dovecot.messageCount('none')).toBe(4);
  });

  test('initial {newest: 2} ingests the two newest messages of the first run only', async () => {
    const { poll, subjects } = setup('newest', { initial: { newest: 2 } });
    await dovecot.seed(
      'newest',
      ['n1', 'n2', 'n3', 'n4', 'n5'].map((s) => message(s)),
    );
    const first = await poll();
    expect(first.keep).toEqual({ kept: 0, ingested: 2, deletedAfterDays: 0, recordedByInitial: 3 });
    expect(subjects()).toEqual(['n4', 'n5']);
    await dovecot.seed('newest', [message('n6')]);
    expect((await poll()).keep).toMatchObject({ kept: 5, ingested: 1 });
    expect(subjects()).toEqual(['n4', 'n5', 'n6']);
  });

  test('the outcome and the CLI counts agree: a run stopped by the per-run limit ingests the rest next time', async () => {
    const { local, subjects } = setup('count');
    const ports = { ...local, stateStore: new LocalStateStore({ outDir: local.outDir }) };
    const mailbox = testMailbox({
      id: 'count',
      host: dovecot.host,
      port: dovecot.pop3Port,
      username: 'count',
      credential: { literal: 'count-pw' },
      keep: { deleteAfterDays: undefined, initial: 'all' },
      limits: { maxMessagesPerRun: 2 },
    });
    await dovecot.seed(
      'count',
      ['c1', 'c2', 'c3', 'c4', 'c5'].map((s) => message(s)),
    );
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await pollMailbox(mailbox, ports, Deadline.after(30_000)));
    expect(runs.map((run) => run.keep?.ingested)).toEqual([2, 2, 1]);
    expect(subjects()).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
  });
});

describe('a UIDL the server reuses for another message', () => {
  let reusing: DovecotServer;
  beforeAll(async () => {
    // %u alone: the UIDL is the message's UID; a maildrop whose UID list is lost starts again at 1, so a
    // later message gets the UIDL of an earlier one (as servers that recycle or derive UIDLs do).
    reusing = await startDovecot({ users: [{ name: 'reuse', password: 'reuse-pw' }], uidlFormat: '%u' });
  });
  afterAll(() => reusing?.stop());

  test('is ingested as a new message when its size differs from the one the state remembers', async () => {
    const local = localPorts();
    cleanups.push(() => local.remove());
    const ports = { ...local, stateStore: new LocalStateStore({ outDir: local.outDir }) };
    const mailbox = testMailbox({
      id: 'reuse',
      host: reusing.host,
      port: reusing.pop3Port,
      username: 'reuse',
      credential: { literal: 'reuse-pw' },
      keep: { deleteAfterDays: undefined, initial: 'all' },
    });
    const poll = () => pollMailbox(mailbox, ports, Deadline.after(30_000));
    await reusing.seed('reuse', [message('same header', 'first body')]);
    const first = await poll();
    expect(first.keep?.ingested, first.message).toBe(1);
    // Read and deleted by a person; another message with the same header section arrives.
    await reusing.clear('reuse');
    const maildir = path.join(reusing.directory, 'home', 'reuse', 'Maildir');
    for (const name of fs.readdirSync(maildir)) {
      if (name.startsWith('dovecot')) fs.rmSync(path.join(maildir, name), { recursive: true, force: true });
    }
    await reusing.seed('reuse', [message('same header', 'a second, longer body')]);
    const second = await poll();
    expect(second.keep).toMatchObject({ kept: 0, ingested: 1 });
    const notified = local.notifications();
    expect(notified).toHaveLength(2);
    expect(notified[0]!.receipt.action.objectKey).not.toBe(notified[1]!.receipt.action.objectKey);
    // Same UIDL on both, so the reuse was real.
    expect(notified[0]!.pop3.uidl).toBe(notified[1]!.pop3.uidl);
    const third = await poll();
    expect(third.keep).toMatchObject({ kept: 1, ingested: 0 });
  });
});
