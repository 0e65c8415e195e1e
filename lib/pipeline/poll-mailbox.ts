/**
 * One mailbox, one run: connect → log in → UIDL + LIST → for each message RETR → store → notify → DELE
 * → QUIT. Read `pollMailbox` top to bottom; the helpers below it only do what their names say.
 *
 * The commit order is the product's promise: a message is marked for deletion only after (1) its bytes
 * are durably stored with a checksum the store verified and (2) its notification was accepted. Only QUIT
 * commits the deletions (RFC 1939 §6), so a run that dies anywhere deletes nothing: the next run finds
 * the same messages, writes the same object keys again, and nothing is lost or duplicated in the store.
 */
import { providerProfile } from '../config/providers.ts';
import type { MailboxConfig } from '../config/types.ts';
import type { Deadline } from '../deadline.ts';
import { Pop3ConnectionError, Pop3ServerError } from '../pop3/errors.ts';
import { Pop3Client } from '../pop3-client/client.ts';
import type { Pop3Timeouts } from '../pop3-client/options.ts';
import type { Clock, CredentialsProvider, MailboxStateStore, MessageStore, Notifier } from '../ports.ts';
import { pollClientOptions } from './client-options.ts';
import { CommitBatch } from './commit-batch.ts';
import { describe, leaveUnnotified, markForDeletion, recordSent } from './commit-steps.ts';
import { drainInSessions, drainsInSessions } from './drain-sessions.ts';
import { previewRun } from './dry-run.ts';
import { type KeepRun, keepRunFor } from './keep-mode.ts';
import { pollConcurrently } from './mailbox-pool.ts';
import type { MailboxOutcome } from './outcome.ts';
import { isOutcomeReason } from './reasons.ts';
import { planRetrievals, type RetrievalPlan } from './retrieval-plan.ts';
import { retrieveAhead } from './retrieve-ahead.ts';
import { retrieveAndStore } from './retrieve-and-store.ts';
import { type MessageEvent, type Progress, RunRecord, type Stop } from './run-record.ts';

export interface PollPorts {
  readonly store: MessageStore;
  readonly notifier: Notifier;
  readonly credentials: CredentialsProvider;
  readonly clock: Clock;
  /** Where keep-mode mailboxes remember what they ingested (lib/pipeline/keep-mode.ts). */
  readonly stateStore?: MailboxStateStore;
}

export interface PollLogger {
  info(message: string, data?: object): void;
  warn(message: string, data?: object): void;
  error(message: string, data?: object): void;
}

export interface PollOptions {
  /**
   * Change nothing: list the messages and report what a real run would do with each (lib/pipeline/
   * dry-run.ts). No RETR, no store, no notification, no DELE. @default false
   */
  readonly dryRun?: boolean;
  readonly logger?: PollLogger;
  readonly onProgress?: (progress: Progress) => void;
  /** What became of each message, once settled (DELE acknowledged, or skipped): for a per-message log. */
  readonly onMessage?: (event: MessageEvent) => void;
  /** The POP3 conversation of each mailbox, secrets redacted, bodies by size only (lib/pop3-client). */
  readonly onTrace?: (mailboxId: string, direction: 'C' | 'S', line: string) => void;
  /** Time kept back for store, notify, DELE and QUIT of what is in flight. @default min(10 s, 25 % of the budget) */
  readonly finishReserveMs?: number;
  /**
   * Messages retrieved but not yet stored, at most. As many as the client's pipelining window, so that a
   * long round trip is paid once per window, not once per few messages; memory is bounded by the bytes.
   * @default 64
   */
  readonly maxInFlightMessages?: number;
  /** Octets received but not yet stored, at most (LIST sizes reserve, received octets charge). @default 64 MiB */
  readonly maxInFlightBytes?: number;
  readonly timeouts?: Pop3Timeouts;
  /** The login mechanism that worked last time (the health record's), tried first when offered. */
  readonly preferredMechanism?: string;
}

export async function pollMailbox(
  mailbox: MailboxConfig,
  ports: PollPorts,
  deadline: Deadline,
  options: PollOptions = {},
): Promise<MailboxOutcome> {
  const profiled = mailbox.profile ? mailbox : { ...mailbox, profile: providerProfile('auto', mailbox.host) };
  // Gmail and the like hand out a batch per session: log in again until the mailbox is drained.
  // Keep mode reads and writes its state once per session: one session per run.
  if (options.dryRun || mailbox.keep || !drainsInSessions(profiled))
    return pollSession(profiled, ports, deadline, options);
  return drainInSessions(profiled, deadline, (limited) => pollSession(limited, ports, deadline, options));
}

/** One session: connect, log in, list, retrieve, commit, QUIT. */
async function pollSession(
  mailbox: MailboxConfig,
  ports: PollPorts,
  deadline: Deadline,
  options: PollOptions,
): Promise<MailboxOutcome> {
  const run = new RunRecord(mailbox.id, options.onProgress, options.onMessage);
  let client: Pop3Client | undefined;
  try {
    const credentials = await ports.credentials.resolve(
      mailbox.credential,
      mailbox.username,
      mailbox.credentialKind,
      { signal: deadline.signal() },
    );
    // auth "auto" may need a second connection when the server closes after refusing a mechanism.
    client = await Pop3Client.connectAndLogin(
      pollClientOptions(mailbox, deadline, options),
      credentials,
      mailbox.auth,
    );
    const keep = keepRunFor(mailbox, ports, run, deadline); // undefined unless `keep: true`
    const plan = await listMessages(client, mailbox, run, keep, !options.dryRun);
    if (options.dryRun) return await previewRun(client, plan, run);

    const session = client;
    const notifications = new CommitBatch(ports.notifier, deadline.signal());
    const stoppedEarly = await retrieveAhead(
      plan,
      deadline,
      options,
      // 1. RETR straight into the store, which verifies the checksum. A stopped run starts nothing new.
      async (planned, charge) =>
        run.stopped
          ? undefined
          : retrieveAndStore({ client: session, mailbox, run, deadline, ...ports }, planned, charge),
      async (retrieved) => {
        const stopped = run.stopped;
        // Stopped for failing notifications: send no more. A rate-limited stop still commits what is stored.
        if (stopped && stopped.reason !== 'rate-limited')
          return leaveUnnotified(retrieved, run, stopped.message);
        // 2. Notify, a batch at a time; only the entries the notifier accepted go on.
        const accepted = recordSent(
          await notifications.add(describe(retrieved, mailbox, session.utf8Mode)),
          run,
        );
        // 3. DELE marks them; nothing is deleted before QUIT. (Keep mode: they enter the state instead.)
        await (keep ? keep.committed(accepted) : markForDeletion(session, accepted, run));
      },
    );
    // 2 and 3 for the last, partial batch.
    const last = recordSent(await notifications.flush(), run);
    await (keep ? keep.committed(last) : markForDeletion(session, last, run));
    await keep?.finish(session); // keep mode: DELE after days, then save the state; a failure stops QUIT

    // 4. QUIT commits the DELEs. With EXPIRE 0 (Gmail) the server also removes every message we RETR'd,
    //    deleted or not, so a session that retrieved something it could not commit must end without QUIT.
    //    Nothing deleted nor retrieved: nothing to commit; QUIT goes out, its reply is not waited for.
    const quit = run.mustNotQuit(client.capabilities.expire)
      ? closeWithoutQuit(client)
      : await client.quit({ waitForReply: 'if-changed' });
    return withLoginMechanism(run.finish(quit, stoppedEarly && asStop(stoppedEarly)), client);
  } catch (error) {
    client?.abort(
      new Pop3ConnectionError('run stopped; closing without QUIT so nothing is deleted', { cause: error }),
    );
    options.logger?.error('mailbox run failed', { mailboxId: mailbox.id, error });
    const failed = run.fail(error, { tls: mailbox.tls, port: mailbox.port, connected: client !== undefined });
    return withLoginMechanism(failed, client);
  }
}

/** A run that logged in and failed later still learnt which mechanism the server accepts. */
function withLoginMechanism(outcome: MailboxOutcome, client: Pop3Client | undefined): MailboxOutcome {
  const mechanism = client?.mechanismUsed;
  return mechanism === undefined ? outcome : { ...outcome, loginMechanism: mechanism };
}

async function listMessages(
  client: Pop3Client,
  mailbox: MailboxConfig,
  run: RunRecord,
  keep: KeepRun | undefined,
  mayRead: boolean,
): Promise<RetrievalPlan> {
  // Both requests go out together when the server pipelines. A server without UIDL answers -ERR.
  const [uidls, listing] = await Promise.all([
    client.uidl().catch((error: unknown) => {
      if (error instanceof Pop3ServerError) return undefined;
      throw error;
    }),
    client.list(),
  ]).catch((error: unknown) => {
    throw keep ? keep.listingFailed(error) : error; // keep mode: a listing past its octet cap
  });
  const plan = keep
    ? await keep.plan(listing, uidls, mayRead ? client : undefined) // keep mode RETRs what is due for deletion
    : planRetrievals(listing, uidls, mailbox.limits);
  run.found(listing.length + listing.omitted); // lines past the listing cap were counted, not kept
  run.planned(
    plan.retrieve.length,
    sumOf(plan.retrieve.map((message) => message.listedSize)),
    // Keep mode settles an ingested message without an event (it is not deleted): none to wait for.
    keep ? [] : [...plan.retrieve, ...plan.oversized].map((message) => message.msg).sort((a, b) => a - b),
  );
  for (const skipped of plan.oversized) run.leftOversized(skipped, skipped.detail);
  return plan;
}

function sumOf(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0);
}

/** retrieveAhead says why it stopped in its own words; the outcome only carries reasons from the closed set. */
function asStop(stopped: { reason: string; message: string }): Stop {
  return { reason: isOutcomeReason(stopped.reason) ? stopped.reason : 'error', message: stopped.message };
}

function closeWithoutQuit(client: Pop3Client): undefined {
  client.abort(new Pop3ConnectionError('closed without QUIT: EXPIRE 0 would remove uncommitted messages'));
  return undefined;
}

/** Polls several mailboxes, at most `concurrency` at once; one failing mailbox never affects another. */
export async function pollMailboxes(
  mailboxes: readonly MailboxConfig[],
  ports: PollPorts,
  deadline: Deadline,
  options: PollOptions & { concurrency?: number } = {},
): Promise<MailboxOutcome[]> {
  return pollConcurrently(mailboxes, options.concurrency, (mailbox) =>
    pollMailbox(mailbox, ports, deadline, options),
  );
}
