/**
 * pollMailbox behind the mailbox's circuit breaker: read the health record (one GET), hold the run back
 * when the breaker is open (lib/health/breaker.ts), else poll and write the record if it changed. The
 * store → notify → DELE → QUIT order in lib/pipeline/poll-mailbox.ts is untouched: this only decides
 * whether it runs, and remembers how it ended.
 *
 * The record is advisory: when it cannot be read the run goes ahead (polling is the job; S3 failing to
 * read a small object while storing messages fine is rare, and the next run reads it again), and when it
 * cannot be written the outcome stands. Both are logged with their cause.
 */
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { emptyCounts, type MailboxOutcome } from '../pipeline/outcome.ts';
import { type PollOptions, type PollPorts, pollMailbox } from '../pipeline/poll-mailbox.ts';
import type { Clock, MailboxHealthStore } from '../ports.ts';
import { type BreakerPolicy, healthChanged, isHeldBack, nextHealth, opensBreaker } from './breaker.ts';
import { fingerprintOf, type SecretMaterial } from './fingerprint.ts';
import type { MailboxHealth } from './record.ts';

export interface HealthPorts {
  readonly healthStore: MailboxHealthStore;
  readonly clock: Clock;
  /** Reads the secret for the fingerprint; without it only the settings count (a new secret is not seen). */
  readonly secretMaterial?: SecretMaterial;
}

export interface GuardOptions {
  /** Poll even when the breaker is open (a person at a terminal: `--force`). @default false */
  readonly force?: boolean;
  readonly breaker?: BreakerPolicy;
}

export async function pollGuarded(
  mailbox: MailboxConfig,
  ports: PollPorts & HealthPorts,
  deadline: Deadline,
  options: PollOptions & GuardOptions = {},
): Promise<MailboxOutcome> {
  const startedAt = performance.now();
  const log = options.logger;
  const signal = deadline.signal();
  const loaded = await ports.healthStore.load(mailbox.id, { signal }).then(
    (found) => ({ found }),
    (error: unknown) => {
      log?.warn('health record unreadable; polling without the circuit breaker', {
        mailboxId: mailbox.id,
        error,
      });
      return undefined;
    },
  );
  const previous = loaded?.found?.health;
  const fingerprint = (like?: string) => currentFingerprint(mailbox, ports.secretMaterial, like, signal);
  if (previous?.state === 'needs-attention' && !options.force) {
    const now = ports.clock.now();
    if (isHeldBack(previous, now, await fingerprint(previous.fingerprint)))
      return heldBackOutcome(previous, Math.round(performance.now() - startedAt));
  }

  const remembered = previous?.loginMechanism;
  const outcome = await pollMailbox(mailbox, ports, deadline, {
    ...options,
    ...(remembered === undefined ? {} : { preferredMechanism: remembered }),
  });
  // A dry run changes nothing, its health record included; an unreadable record is not overwritten blindly.
  if (options.dryRun || loaded === undefined) return outcome;
  const opens = opensBreaker(previous, outcome, options.breaker);
  const next = nextHealth(
    previous,
    {
      outcome,
      now: ports.clock.now(),
      ...(outcome.loginMechanism === undefined ? {} : { loginMechanism: outcome.loginMechanism }),
      ...(opens ? { fingerprint: await fingerprint(previous?.fingerprint) } : {}),
    },
    options.breaker,
  );
  if (healthChanged(previous, next)) {
    await ports.healthStore.save(next, loaded.found?.version, { signal }).catch((error: unknown) => {
      log?.warn('health record not written', { mailboxId: mailbox.id, error });
    });
  }
  return { ...outcome, health: summaryOf(next) };
}

/**
 * The fingerprint now, salted like `like`. Undefined when the secret cannot be read at this moment (a
 * Secrets Manager blip): the breaker then treats it as unchanged rather than risk a refused login.
 */
async function currentFingerprint(
  mailbox: MailboxConfig,
  secretMaterial: SecretMaterial | undefined,
  like: string | undefined,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (secretMaterial === undefined) return fingerprintOf(mailbox, undefined, like);
  try {
    return fingerprintOf(mailbox, await secretMaterial(mailbox, signal), like);
  } catch {
    return undefined;
  }
}

function summaryOf(health: MailboxHealth): NonNullable<MailboxOutcome['health']> {
  return {
    state: health.state,
    ...(health.nextAttemptAt === undefined ? {} : { nextAttemptAt: health.nextAttemptAt }),
  };
}

/** A run the breaker held back: nothing was sent to the server, the record is left as it is. */
export function heldBackOutcome(health: MailboxHealth, durationMs: number): MailboxOutcome {
  const cause = `${health.failures} × ${health.reason ?? 'error'} since ${health.since}${health.message ? `: ${health.message}` : ''}`;
  return {
    mailboxId: health.mailboxId,
    status: 'failed',
    reason: 'held-back',
    message:
      `not tried (circuit breaker open after ${cause}); next attempt after ${health.nextAttemptAt}, or ` +
      `at once when the password or the configuration changes; after fixing the cause: ` +
      `mailbox-poller reset ${health.mailboxId} (--bucket B for a deployment), or poll --force`,
    counts: emptyCounts(),
    skipped: [],
    quitConfirmed: false,
    durationMs,
    health: summaryOf(health),
  };
}
