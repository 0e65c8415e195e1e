/**
 * Object keys through a whole run: UIDLs that are path tricks (`.`, `..`) or outside RFC 1939 §7 (too long,
 * control or 8-bit characters) are stored under safe keys, and the mailbox run succeeds.
 */
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';
import { USER_PASS_LOGIN } from '../support/scripted-login.ts';

const { cleanups, ports } = pipelineFixture();

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const message = (subject: string) =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\nHello.\r\n`);

describe('object keys of unusual UIDLs, through a whole run', () => {
  test('".", "..", a 200-character and a non-printable UIDL are all stored, notified and deleted', async () => {
    const long = 'L'.repeat(200);
    // Octets as the server sends them: a control character and an 8-bit one (read as Latin-1).
    const controlUidl = 'a\u0001b';
    const eightBitUidl = 'caf\u00e9';
    const uidls = ['.', '..', long, controlUidl, eightBitUidl];
    const bodies = uidls.map((_uidl, index) => message(`message ${index + 1}`));
    const listing = uidls.map((uidl, index) => `${index + 1} ${uidl}\r\n`).join('');
    const sizes = bodies.map((body, index) => `${index + 1} ${body.length}\r\n`).join('');
    const server = await startScriptServer([
      ...USER_PASS_LOGIN,
      { expect: 'UIDL' },
      { send: Buffer.from(`+OK\r\n${listing}.\r\n`, 'latin1') },
      { expect: 'LIST' },
      { send: `+OK\r\n${sizes}.\r\n` },
      ...bodies.flatMap((body, index) => [
        { expect: `RETR ${index + 1}` },
        { send: Buffer.concat([Buffer.from('+OK\r\n'), body, Buffer.from('.\r\n')]) },
      ]),
      // Commits finish in any order.
      ...bodies.flatMap(() => [{ expect: /^DELE [1-5]$/ }, { send: '+OK\r\n' }]),
      { expect: 'QUIT' },
      { send: '+OK bye\r\n' },
    ]);
    cleanups.push(() => server.close());
    const local = ports();

    const outcome = await pollMailbox(testMailbox({ port: server.port }), local, Deadline.after(20_000));
    await server.done;

    expect(outcome).toMatchObject({ status: 'ok', quitConfirmed: true });
    expect(outcome.counts).toMatchObject({ found: 5, stored: 5, notified: 5, deleted: 5 });
    const expectedKeys = [
      `test/uidl/%2E/${sha256(bodies[0]!)}.eml`,
      `test/uidl/%2E%2E/${sha256(bodies[1]!)}.eml`,
      `test/uidl-sha256/${sha256(long)}/${sha256(bodies[2]!)}.eml`,
      `test/uidl-sha256/${sha256(controlUidl)}/${sha256(bodies[3]!)}.eml`,
      `test/uidl-sha256/${sha256(eightBitUidl)}/${sha256(bodies[4]!)}.eml`,
    ];
    const objects = local.objects();
    expect([...objects.keys()].sort()).toEqual([...expectedKeys].sort());
    for (const [index, key] of expectedKeys.entries()) expect(objects.get(key)).toEqual(bodies[index]);
    const notified = local.notifications();
    expect(notified.map((n) => n.receipt.action.objectKey).sort()).toEqual([...expectedKeys].sort());
    expect(notified.map((n) => n.pop3.uidl).sort()).toEqual([...uidls].sort());
  });
});
