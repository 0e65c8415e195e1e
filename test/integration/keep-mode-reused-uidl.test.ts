/**
 * `deleteAfterDays` deletes only the message it stored. The state matches a listed message by unique-id
 * and LIST size, so a server that reuses a unique-id for another message of the same size used to get
 * that message DELE'd 40 days later without it ever being stored. Now the state keeps the SHA-256 of the
 * stored bytes, and a due message is read again and compared before DELE (lib/pipeline/keep-verify.ts).
 *
 * The server is the scriptable one, answering from a maildrop the test changes between sessions: the
 * same unique-id and size with other content is exactly what no real server does on demand.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { LocalStateStore } from '../../lib/adapters/local-state-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { stateIdOf } from '../../lib/pipeline/keep-state-id.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { localPorts } from '../support/pipeline-ports.ts';
import { type ScriptConnection, startScriptServer } from '../support/script-server.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const DAY_0 = Date.UTC(2026, 0, 1);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Held {
  uidl: string;
  bytes: Buffer;
  /** RETR of this message answers -ERR. */
  refuseRetr?: boolean;
}

/** A maildrop the test edits between sessions; every command line of every session, in order. */
function maildropServer(maildrop: Held[], commands: string[], capabilities: string[]) {
  return async (conn: ScriptConnection): Promise<void> => {
    const marked = new Set<number>();
    const numbered = [...maildrop]; // message numbers are fixed for the session (RFC 1939 §3)
    await conn.write('+OK ready\r\n');
    for (;;) {
      const line = await conn.readLine().catch(() => undefined);
      if (line === undefined) return; // closed without QUIT: nothing marked is deleted
      commands.push(line);
      const [keyword = '', arg] = line.split(' ');
      const msg = Number(arg);
      switch (keyword.toUpperCase()) {
        case 'CAPA':
          await conn.write(`+OK\r\n${['USER', 'UIDL', 'PIPELINING', ...capabilities].join('\r\n')}\r\n.\r\n`);
          break;
        case 'UIDL':
          await conn.write(`+OK\r\n${numbered.map((held, i) => `${i + 1} ${held.uidl}\r\n`).join('')}.\r\n`);
          break;
        case 'LIST':
          await conn.write(
            `+OK\r\n${numbered.map((held, i) => `${i + 1} ${held.bytes.length}\r\n`).join('')}.\r\n`,
          );
          break;
        case 'RETR':
          if (numbered[msg - 1]!.refuseRetr) {
            await conn.write('-ERR message is locked\r\n');
            break;
          }
          await conn.write(
            Buffer.concat([Buffer.from('+OK\r\n'), numbered[msg - 1]!.bytes, Buffer.from('.\r\n')]),
          );
          break;
        case 'DELE':
          marked.add(msg);
          await conn.write('+OK marked\r\n');
          break;
        case 'QUIT':
          for (const held of [...marked].map((n) => numbered[n - 1]!))
            maildrop.splice(maildrop.indexOf(held), 1);
          await conn.write('+OK bye\r\n');
          await conn.end();
          return;
        default: // USER, PASS
          await conn.write('+OK\r\n');
      }
    }
  };
}

/** A message of exactly 64 octets, CRLF lines, no line starting with a dot. */
function message(text: string): Buffer {
  const head = `Subject: ${text}\r\n\r\n`;
  const bytes = Buffer.from(`${head}${'x'.repeat(64 - head.length - 2)}\r\n`);
  expect(bytes).toHaveLength(64);
  return bytes;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(maildrop: Held[], capabilities: string[] = []) {
  const commands: string[] = [];
  const server = await startScriptServer(maildropServer(maildrop, commands, capabilities));
  cleanups.push(() => server.close());
  const local = localPorts();
  cleanups.push(() => local.remove());
  const mailbox = testMailbox({ port: server.port, keep: { deleteAfterDays: 30, initial: 'all' } });
  const pollOn = (day: number, options: { dryRun?: boolean } = {}) =>
    pollMailbox(
      mailbox,
      {
        ...local,
        clock: { now: () => new Date(DAY_0 + day * DAY_MS) },
        stateStore: new LocalStateStore(local),
      },
      Deadline.after(20_000),
      options,
    );
  const storedBodies = () => [...local.objects().values()].map((body) => body.toString('latin1'));
  return { commands, local, pollOn, storedBodies };
}

describe('keep mode: deleteAfterDays proves a message is the one stored before DELE', () => {
  test('a reused unique-id with a same-size, different message is stored and notified, never deleted unstored', async () => {
    const first = message('first');
    const second = message('other');
    const maildrop: Held[] = [{ uidl: 'A1', bytes: first }];
    const { commands, local, pollOn, storedBodies } = await setUp(maildrop);

    expect(await pollOn(0)).toMatchObject({ status: 'ok', keep: { ingested: 1 } });
    // The server reuses A1 for another message of the same size.
    maildrop[0] = { uidl: 'A1', bytes: second };
    commands.length = 0;

    const reused = await pollOn(40);
    expect(reused).toMatchObject({
      status: 'ok',
      counts: { deleted: 0 },
      keep: { reusedUidl: 1, ingested: 1 },
    });
    expect(commands.filter((line) => line.startsWith('DELE'))).toEqual([]);
    expect(maildrop).toHaveLength(1);
    expect(storedBodies()).toEqual(
      expect.arrayContaining([first.toString('latin1'), second.toString('latin1')]),
    );
    expect(local.notifications()).toHaveLength(2);

    // Ingested on day 40, so not due on day 41; due, verified and deleted on day 70.
    commands.length = 0;
    expect(await pollOn(41)).toMatchObject({ status: 'ok', keep: { kept: 1, deletedAfterDays: 0 } });
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual([]);
    const due = await pollOn(70);
    expect(due).toMatchObject({ status: 'ok', counts: { deleted: 1 }, keep: { deletedAfterDays: 1 } });
    expect(due.keep?.reusedUidl).toBeUndefined();
    expect(maildrop).toEqual([]);
    expect(local.notifications()).toHaveLength(2);
  });

  test('the same message is read once more, compared, and deleted after the days', async () => {
    const kept = message('kept');
    const maildrop: Held[] = [
      { uidl: 'B1', bytes: kept },
      { uidl: 'B2', bytes: message('young') },
    ];
    const { commands, pollOn } = await setUp(maildrop);
    expect(await pollOn(0)).toMatchObject({ status: 'ok', keep: { ingested: 2 } });
    maildrop[1] = { uidl: 'B3', bytes: message('newer') }; // B2 gone, B3 arrives on day 20
    expect(await pollOn(20)).toMatchObject({ status: 'ok', keep: { kept: 1, ingested: 1 } });
    commands.length = 0;

    const outcome = await pollOn(30);
    expect(outcome).toMatchObject({
      status: 'ok',
      counts: { deleted: 1 },
      keep: { deletedAfterDays: 1, kept: 2 },
    });
    // RETR of the due message (the proof), then its DELE; B3 (10 days old) is neither read nor deleted.
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual(['RETR 1', 'DELE 1']);
    expect(maildrop.map((held) => held.uidl)).toEqual(['B3']);
  });

  test('a state saved before digests: its due messages are not read and not deleted, and the outcome says so', async () => {
    const old = message('old');
    const maildrop: Held[] = [{ uidl: 'C1', bytes: old }];
    const { commands, local, pollOn } = await setUp(maildrop);
    await new LocalStateStore(local).save(
      'test',
      { messages: [{ uidl: 'C1', size: old.length, ingestedAt: DAY_0 }] }, // no sha256
      undefined,
    );
    const outcome = await pollOn(365);
    expect(outcome).toMatchObject({
      status: 'ok',
      counts: { deleted: 0 },
      keep: { kept: 1, deletionWithheld: 1 },
    });
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual([]);
    expect(maildrop).toHaveLength(1);
  });
});

describe('keep mode: no proof, no DELE', () => {
  test('a refused RETR, a server with EXPIRE 0 and a dry run leave a due message on the server', async () => {
    const body = message('due');
    const maildrop: Held[] = [{ uidl: 'D1', bytes: body }];
    const { commands, pollOn } = await setUp(maildrop);
    expect(await pollOn(0)).toMatchObject({ status: 'ok', keep: { ingested: 1 } });

    maildrop[0] = { uidl: 'D1', bytes: body, refuseRetr: true };
    commands.length = 0;
    const refused = await pollOn(60);
    expect(refused).toMatchObject({
      status: 'ok',
      counts: { deleted: 0 },
      keep: { kept: 1, deletionWithheld: 1 },
    });
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual(['RETR 1']);

    commands.length = 0;
    const dry = await pollOn(60, { dryRun: true });
    expect(dry.keep?.deletionWithheld).toBeUndefined();
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual([]);
    expect(maildrop).toHaveLength(1);
  });

  test('with EXPIRE 0 a due message is not read (the server would remove it at QUIT) and not deleted', async () => {
    const body = message('expiring');
    const maildrop: Held[] = [{ uidl: 'E1', bytes: body }];
    const { commands, local, pollOn } = await setUp(maildrop, ['EXPIRE 0']);
    await new LocalStateStore(local).save(
      'test',
      { messages: [{ uidl: 'E1', size: body.length, ingestedAt: DAY_0, sha256: sha256(body) }] },
      undefined,
    );
    const outcome = await pollOn(60);
    expect(outcome).toMatchObject({
      status: 'ok',
      counts: { deleted: 0 },
      keep: { kept: 1, deletionWithheld: 1 },
    });
    expect(commands.filter((line) => /^(RETR|DELE)/.test(line))).toEqual([]);
  });
});

describe('keep mode: unique-ids outside RFC 1939 are kept hashed, and still match', () => {
  test('a long unique-id recorded as it is by an older state is matched, kept, and rewritten hashed', async () => {
    const long = `L${'o'.repeat(300)}`;
    const body = message('long id');
    const maildrop: Held[] = [{ uidl: long, bytes: body }];
    const { commands, local, pollOn } = await setUp(maildrop);
    const store = new LocalStateStore(local);
    await store.save('test', { messages: [{ uidl: long, size: body.length, ingestedAt: DAY_0 }] }, undefined);
    const outcome = await pollOn(1);
    expect(outcome).toMatchObject({ status: 'ok', keep: { kept: 1, ingested: 0 } });
    expect(commands.filter((line) => line.startsWith('RETR'))).toEqual([]);
    const saved = await store.load('test');
    expect(saved?.state.messages).toEqual([{ uidl: stateIdOf(long), size: body.length, ingestedAt: DAY_0 }]);
    expect(stateIdOf(long)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
