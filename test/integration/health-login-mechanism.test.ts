/**
 * The login mechanism a server accepted travels in the mailbox's health record, so the next run (in
 * another process, another Lambda container) tries it first: against Dovecot, which offers CRAM-MD5,
 * SASL PLAIN and USER, a record naming USER makes the run log in with USER at once, and a run's mechanism is
 * written back. The client's own lines (onTrace) show what was sent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalHealthStore } from '../../lib/adapters/local-health-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollGuarded } from '../../lib/health/guarded-poll.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';

const PASSWORD = 'mechanism-password-9931';
const { ports } = pipelineFixture();
let dovecot: DovecotServer;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ name: 'alice', password: PASSWORD }] });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
});

/** The first command of each login the client sent: `AUTH PLAIN`, `USER`, … */
function loginCommands(lines: readonly string[]): string[] {
  return lines
    .filter((line) => /^(AUTH [A-Z]|USER |APOP )/.test(line))
    .map((line) => line.split(' ').slice(0, 2).join(' '));
}

it('a run tries the mechanism its health record names first, and records the one that worked', {
  timeout: 60_000,
}, async () => {
  const local = ports();
  const healthStore = new LocalHealthStore({ outDir: local.outDir });
  const guarded = { ...local, healthStore };
  const mailbox = testMailbox({ id: 'support', port: dovecot.pop3Port, credential: { literal: PASSWORD } });
  const run = async () => {
    const sent: string[] = [];
    const outcome = await pollGuarded(mailbox, guarded, Deadline.after(20_000), {
      onTrace: (_id, direction, line) => {
        if (direction === 'C') sent.push(line);
      },
    });
    expect(outcome.status, outcome.message).toBe('ok');
    return { sent: loginCommands(sent), outcome };
  };

  // No record yet: auto picks its own first choice, and the record keeps what worked.
  const first = await run();
  // (without TLS: CRAM-MD5, which keeps the password off the wire).
  expect(first.sent).toEqual(['AUTH CRAM-MD5']);
  const afterFirst = await healthStore.load('support');
  expect(afterFirst?.health.loginMechanism).toBe('CRAM-MD5');

  // A record written elsewhere names USER: this run logs in with USER at once, though auto would start
  // with CRAM-MD5 and this process remembers CRAM-MD5 for the server.
  await healthStore.save({ ...afterFirst!.health, loginMechanism: 'USER' }, afterFirst!.version);
  const second = await run();
  expect(second.sent).toEqual(['USER alice']);
  expect(second.outcome.loginMechanism).toBe('USER');
  expect((await healthStore.load('support'))?.health.loginMechanism).toBe('USER');
});
