/**
 * The circuit breaker as a policy (lib/health/breaker.ts): which reasons open it and when, the back-off,
 * the fingerprint that closes it early, and the writes it asks for (on change, plus a daily heartbeat).
 */
import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  breakerPolicyFromEnv,
  breakerRule,
  healthChanged,
  isHeldBack,
  nextHealth,
  resetHealth,
} from '../../../lib/health/breaker.ts';
import { fingerprintOf } from '../../../lib/health/fingerprint.ts';
import { decodeHealth, encodeHealth, type MailboxHealth } from '../../../lib/health/record.ts';
import { emptyCounts, type MailboxOutcome } from '../../../lib/pipeline/outcome.ts';
import { OUTCOME_REASONS } from '../../../lib/pipeline/reasons.ts';
import { testMailbox } from '../../support/mailbox.ts';

const HOUR = 60 * 60 * 1000;
const T0 = new Date('2026-03-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function outcome(status: MailboxOutcome['status'], reason?: MailboxOutcome['reason'], notified = 0) {
  return {
    mailboxId: 'box',
    status,
    ...(reason === undefined ? {} : { reason }),
    message: `${status} ${reason ?? ''}`,
    counts: { ...emptyCounts(), notified },
  };
}

/** Runs the policy over a series of (time, outcome): the records after each, as a poller would store them. */
function replay(runs: [number, ReturnType<typeof outcome>][], fingerprint = 'fp'): MailboxHealth[] {
  const records: MailboxHealth[] = [];
  let current: MailboxHealth | undefined;
  for (const [ms, result] of runs) {
    current = nextHealth(current, { outcome: result, now: at(ms), fingerprint });
    records.push(current);
  }
  return records;
}

describe('circuit breaker', () => {
  it('refused credentials open it at once; the back-off is 1 h, doubling to 24 h, then a day', () => {
    const [first] = replay([[0, outcome('auth-failed', 'auth')]]);
    expect(first).toMatchObject({
      state: 'needs-attention',
      failures: 1,
      reason: 'auth',
      nextAttemptAt: at(HOUR).toISOString(),
      fingerprint: 'fp',
    });
    expect(isHeldBack(first, at(HOUR - 1), 'fp')).toBe(true);
    expect(isHeldBack(first, at(HOUR), 'fp')).toBe(false);
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffMs(n) / HOUR)).toEqual([1, 2, 4, 8, 16, 24, 24, 24]);
    // Each attempt after the back-off that is refused again doubles it.
    const again = replay([
      [0, outcome('auth-failed', 'auth')],
      [HOUR, outcome('auth-failed', 'auth')],
      [3 * HOUR, outcome('auth-failed', 'auth')],
    ]);
    expect(again.map((r) => r.nextAttemptAt)).toEqual([
      at(HOUR).toISOString(),
      at(3 * HOUR).toISOString(),
      at(7 * HOUR).toISOString(),
    ]);
    expect(again.at(-1)).toMatchObject({ failures: 3, since: T0.toISOString() });
  });

  it('a changed fingerprint lets the next run through at once, and a refusal then starts at 1 h again', () => {
    const [open] = replay([[0, outcome('auth-failed', 'auth')]]);
    expect(isHeldBack(open, at(1000), 'other')).toBe(false);
    // A fingerprint that could not be computed (the secret unreadable now) holds back: no risky login.
    expect(isHeldBack(open, at(1000), undefined)).toBe(true);
    const reopened = nextHealth(
      { ...open!, heldAttempts: 4 },
      { outcome: outcome('auth-failed', 'auth'), now: at(1000), fingerprint: 'other' },
    );
    expect(reopened).toMatchObject({ heldAttempts: 0, fingerprint: 'other' });
    expect(reopened.nextAttemptAt).toBe(at(1000 + HOUR).toISOString());
  });

  it('a configuration mistake opens it after 3 runs in a row with the same reason, a blip never', () => {
    const tls = replay([
      [0, outcome('failed', 'tls')],
      [300_000, outcome('failed', 'tls')],
      [600_000, outcome('failed', 'tls')],
    ]);
    expect(tls.map((r) => r.state)).toEqual(['retrying', 'retrying', 'needs-attention']);
    expect(tls[2]).toMatchObject({ failures: 3, nextAttemptAt: at(600_000 + HOUR).toISOString() });
    const changing = replay([
      [0, outcome('failed', 'tls')],
      [1, outcome('failed', 'dns')],
      [2, outcome('retry-later', 'refused')],
    ]);
    expect(changing.map((r) => r.state)).toEqual(['retrying', 'retrying', 'retrying']);
    const blips = replay(Array.from({ length: 50 }, (_, i) => [i, outcome('retry-later', 'network')]));
    expect(blips.at(-1)).toMatchObject({ state: 'retrying', failures: 50 });
    expect(blips.at(-1)?.nextAttemptAt).toBeUndefined();
  });

  it('the number of repeats comes from BREAKER_CONFIG_REPEATS; a bad value keeps the default', () => {
    const policy = breakerPolicyFromEnv({ BREAKER_CONFIG_REPEATS: '1' });
    expect(nextHealth(undefined, { outcome: outcome('failed', 'dns'), now: T0 }, policy).state).toBe(
      'needs-attention',
    );
    for (const bad of ['0', 'three', '', undefined])
      expect(breakerPolicyFromEnv({ BREAKER_CONFIG_REPEATS: bad })).toEqual({});
  });

  it('every reason has a rule; only credentials open at once, blips and throttling never', () => {
    const rules = Object.fromEntries(Object.keys(OUTCOME_REASONS).map((r) => [r, breakerRule(r)]));
    expect(Object.keys(rules).filter((r) => rules[r] === 'at-once')).toEqual(['auth', 'auth-revoked']);
    for (const never of [
      'network',
      'timeout',
      'IN-USE',
      'LOGIN-DELAY',
      'SYS/TEMP',
      'rate-limited',
      'held-back',
    ])
      expect(rules[never], never).toBe('never');
    for (const repeats of ['tls', 'dns', 'refused', 'credentials', 'SYS/PERM'])
      expect(rules[repeats], repeats).toBe('after-repeats');
  });

  it('an ok run closes it; a healthy mailbox is written once a day, not once a run', () => {
    const runs = replay([
      [0, outcome('auth-failed', 'auth')],
      [HOUR, outcome('ok', undefined, 2)],
    ]);
    expect(runs[1]).toEqual({
      mailboxId: 'box',
      state: 'ok',
      since: at(HOUR).toISOString(),
      failures: 0,
      lastSuccessAt: at(HOUR).toISOString(),
      lastIngestAt: at(HOUR).toISOString(),
    });
    let record = runs[1]!;
    let writes = 0;
    // Two days of five-minute polls, every one of them ingesting mail.
    for (let ms = HOUR + 300_000; ms <= HOUR + 48 * HOUR; ms += 300_000) {
      const next = nextHealth(record, { outcome: outcome('ok', undefined, 1), now: at(ms) });
      if (healthChanged(record, next)) writes++;
      record = next;
    }
    expect(writes).toBe(2);
    // And what a store reads back compares equal to what it wrote: no write for nothing.
    const reread = decodeHealth('box', encodeHealth(record));
    expect(healthChanged(reread, nextHealth(reread, { outcome: outcome('ok'), now: at(49 * HOUR) }))).toBe(
      false,
    );
  });

  it('a remembered login mechanism is kept across runs and written only when it changes', () => {
    const first = nextHealth(undefined, { outcome: outcome('ok'), now: at(0), loginMechanism: 'PLAIN' });
    expect(first.loginMechanism).toBe('PLAIN');
    const same = nextHealth(first, { outcome: outcome('ok'), now: at(1), loginMechanism: 'PLAIN' });
    expect(healthChanged(first, same)).toBe(false);
    const failed = nextHealth(same, { outcome: outcome('retry-later', 'network'), now: at(2) });
    expect(failed.loginMechanism).toBe('PLAIN');
    const other = nextHealth(failed, { outcome: outcome('ok'), now: at(3), loginMechanism: 'USER' });
    expect(other.loginMechanism).toBe('USER');
  });

  it('reset closes the breaker and forgets the streak, keeping the history', () => {
    const [open] = replay([[0, outcome('auth-failed', 'auth')]]);
    const reset = resetHealth({ ...open!, lastSuccessAt: 'earlier' }, 'box', at(5));
    expect(reset).toMatchObject({ state: 'retrying', failures: 0, lastSuccessAt: 'earlier' });
    expect(reset.nextAttemptAt).toBeUndefined();
    expect(isHeldBack(reset, at(6), 'fp')).toBe(false);
    // After a reset a refusal opens it again at once.
    expect(nextHealth(reset, { outcome: outcome('auth-failed', 'auth'), now: at(7) }).state).toBe(
      'needs-attention',
    );
  });
});

describe('fingerprint', () => {
  it('changes with the secret or the settings, compares with its own salt, never holds the secret', () => {
    const mailbox = testMailbox();
    const first = fingerprintOf(mailbox, 'hunter2');
    expect(first).not.toContain('hunter2');
    expect(fingerprintOf(mailbox, 'hunter2', first)).toBe(first);
    expect(fingerprintOf(mailbox, 'hunter3', first)).not.toBe(first);
    expect(fingerprintOf({ ...mailbox, tls: 'implicit' }, 'hunter2', first)).not.toBe(first);
    // Salted: the same secret elsewhere does not give the same fingerprint.
    expect(fingerprintOf(mailbox, 'hunter2')).not.toBe(first);
  });
});
