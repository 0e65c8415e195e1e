/**
 * Which refusals open the circuit breaker, against the project's scriptable POP3 server: the login is
 * refused with [AUTH] (open at once), [SYS/PERM] (a permanent trouble of the account: open after three
 * runs in a row), and [IN-USE] (another session: never, however often). The server counts connections,
 * and what the client sent shows how many times the password was presented.
 */
import { describe, expect, it } from 'vitest';
import { LocalHealthStore } from '../../lib/adapters/local-health-store.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollGuarded } from '../../lib/health/guarded-poll.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';
import { startScriptServer } from '../support/script-server.ts';

const { cleanups, ports } = pipelineFixture();

/** A server that refuses PASS with `refusal`, on every connection. */
async function refusingServer(refusal: string) {
  const server = await startScriptServer(
    [
      { send: '+OK scripted server ready\r\n' },
      { expect: 'CAPA' },
      { send: '+OK\r\nUSER\r\nUIDL\r\n.\r\n' },
      { expect: 'USER alice' },
      { send: '+OK\r\n' },
      { expect: 'PASS secret' },
      { send: `-ERR ${refusal}\r\n` },
      { close: true },
    ],
    { connections: 1 },
  );
  cleanups.push(() => server.close());
  return server;
}

async function fiveRuns(refusal: string) {
  const server = await refusingServer(refusal);
  const local = ports();
  const guarded = { ...local, healthStore: new LocalHealthStore({ outDir: local.outDir }) };
  const mailbox = testMailbox({ port: server.port, auth: 'user' });
  const runs: string[] = [];
  for (let run = 0; run < 5; run++) {
    const outcome = await pollGuarded(mailbox, guarded, Deadline.after(10_000));
    runs.push(`${outcome.reason} ${outcome.health?.state}`);
  }
  const passes = server.received.toString('latin1').match(/^PASS /gm)?.length ?? 0;
  return { runs, connections: server.connections, passes };
}

describe('circuit breaker against the scriptable server', () => {
  it('[AUTH]: the password is presented once, then held back', async () => {
    const { runs, connections, passes } = await fiveRuns('[AUTH] invalid credentials');
    expect(runs).toEqual([
      'auth needs-attention',
      ...Array.from({ length: 4 }, () => 'held-back needs-attention'),
    ]);
    expect({ connections, passes }).toEqual({ connections: 1, passes: 1 });
  });

  it('[SYS/PERM]: three runs in a row, then held back', async () => {
    const { runs, connections } = await fiveRuns('[SYS/PERM] account disabled');
    expect(runs).toEqual([
      'SYS/PERM retrying',
      'SYS/PERM retrying',
      'SYS/PERM needs-attention',
      'held-back needs-attention',
      'held-back needs-attention',
    ]);
    expect(connections).toBe(3);
  });

  it('[IN-USE]: retried every run, never held back', async () => {
    const { runs, connections } = await fiveRuns('[IN-USE] another session holds the mailbox');
    expect(runs).toEqual(Array.from({ length: 5 }, () => 'IN-USE retrying'));
    expect(connections).toBe(5);
  });
});
