/**
 * The circuit breaker against a real server (Dovecot), through pollGuarded with the local health store
 * the CLI uses: a wrong password is presented once, then not again until the back-off passes (injected
 * clock) or the secret changes; `tls: starttls` against the implicit-TLS port and a port where nothing
 * listens become needs-attention after three runs, not retry-later forever. A TCP proxy in front of the
 * server counts the connections, Dovecot's log the refused logins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigCredentialsProvider } from '../../lib/adapters/credentials.ts';
import { LocalHealthStore } from '../../lib/adapters/local-health-store.ts';
import { secretMaterialOf } from '../../lib/adapters/secret-material.ts';
import type { MailboxConfig } from '../../lib/config/types.ts';
import { Deadline } from '../../lib/deadline.ts';
import { pollGuarded } from '../../lib/health/guarded-poll.ts';
import type { Clock } from '../../lib/ports.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';
import { findFreePort } from '../support/ports.ts';
import { testMessage } from '../support/scripted-login.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const PASSWORD = 'breaker-password-5521';
const { cleanups, ports } = pipelineFixture();
let dovecot: DovecotServer;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ name: 'alice', password: PASSWORD }] });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
});

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy({ target: { host: dovecot.host, port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Local ports with a health store in their folder, an injected clock and a mutable environment. */
function guardedPorts(env: NodeJS.ProcessEnv, clock: Clock) {
  const credentials = new ConfigCredentialsProvider({ env });
  const local = ports({ credentials, clock });
  return {
    ...local,
    healthStore: new LocalHealthStore({ outDir: local.outDir }),
    secretMaterial: secretMaterialOf(credentials),
  };
}

function refusedLogins(): number {
  return dovecot.readLog().match(/auth failed/g)?.length ?? 0;
}

describe('circuit breaker against Dovecot', () => {
  it('a wrong password: one refused login, none while held back, one after the back-off, ok at once after the fix', {
    timeout: 60_000,
  }, async () => {
    await dovecot.seed('alice', [testMessage('after-fix')]);
    const proxy = await proxyTo(dovecot.pop3Port);
    let now = new Date('2026-03-01T00:00:00Z');
    const env: NodeJS.ProcessEnv = { ALICE_PASSWORD: 'not-the-password' };
    const guarded = guardedPorts(env, { now: () => now });
    const mailbox: MailboxConfig = testMailbox({
      id: 'support',
      port: proxy.port,
      auth: 'user',
      credential: { env: 'ALICE_PASSWORD' },
    });
    const poll = () => pollGuarded(mailbox, guarded, Deadline.after(20_000));
    const refusedBefore = refusedLogins();

    const first = await poll();
    expect(first).toMatchObject({
      status: 'auth-failed',
      reason: 'auth',
      health: { state: 'needs-attention' },
    });
    expect(proxy.connections).toBe(1);
    for (const minutes of [5, 10, 55]) {
      now = new Date(Date.parse('2026-03-01T00:00:00Z') + minutes * 60_000);
      const held = await poll();
      expect(held).toMatchObject({
        status: 'failed',
        reason: 'held-back',
        health: { state: 'needs-attention' },
      });
      expect(held.message).toContain('1 × auth');
    }
    expect(proxy.connections).toBe(1);
    expect(refusedLogins() - refusedBefore).toBe(1);

    // The back-off (1 h) passed: one more attempt, refused, and the next back-off is 2 h.
    now = new Date(Date.parse('2026-03-01T01:00:01Z'));
    expect(await poll()).toMatchObject({
      reason: 'auth',
      health: { state: 'needs-attention', nextAttemptAt: '2026-03-01T03:00:01.000Z' },
    });
    expect(await poll()).toMatchObject({ reason: 'held-back' });
    expect(proxy.connections).toBe(2);
    expect(refusedLogins() - refusedBefore).toBe(2);

    // The secret changed: tried at once, not after the back-off.
    env['ALICE_PASSWORD'] = PASSWORD;
    const fixed = await poll();
    expect(fixed).toMatchObject({ status: 'ok', counts: { deleted: 1 }, health: { state: 'ok' } });
    expect(proxy.connections).toBe(3);
    expect((await guarded.healthStore.load('support'))?.health).toMatchObject({
      state: 'ok',
      failures: 0,
      lastSuccessAt: now.toISOString(),
      lastIngestAt: now.toISOString(),
    });
  });

  it('tls: starttls against the implicit-TLS port: failed (tls) within seconds each run, needs-attention after three', {
    timeout: 60_000,
  }, async () => {
    const proxy = await proxyTo(dovecot.pop3sPort);
    const guarded = guardedPorts({}, { now: () => new Date() });
    const mailbox = testMailbox({
      id: 'starttls-on-995',
      port: proxy.port,
      tls: 'starttls',
      credential: { literal: PASSWORD },
    });
    const outcomes = [];
    for (let run = 0; run < 4; run++) {
      const started = performance.now();
      outcomes.push(await pollGuarded(mailbox, guarded, Deadline.after(30_000)));
      // The TLS probe answers after 1.5 s of silence, not the 15 s greeting timeout.
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    expect(outcomes.map((o) => `${o.status} (${o.reason}) ${o.health?.state}`)).toEqual([
      'failed (tls) retrying',
      'failed (tls) retrying',
      'failed (tls) needs-attention',
      'failed (held-back) needs-attention',
    ]);
    expect(outcomes[0]?.message).toContain('set tls: implicit');
    // Each attempted run: its session and the probe's connection; the held-back run none.
    expect(proxy.connections).toBe(6);
  });

  it('a port where nothing listens: retried as refused, needs-attention after three runs', async () => {
    const guarded = guardedPorts({}, { now: () => new Date() });
    const mailbox = testMailbox({
      id: 'wrong-port',
      port: await findFreePort(),
      credential: { literal: 'x' },
    });
    const states = [];
    for (let run = 0; run < 4; run++) {
      const outcome = await pollGuarded(mailbox, guarded, Deadline.after(20_000));
      states.push(`${outcome.reason} ${outcome.health?.state}`);
    }
    expect(states).toEqual([
      'refused retrying',
      'refused retrying',
      'refused needs-attention',
      'held-back needs-attention',
    ]);
  });
});
