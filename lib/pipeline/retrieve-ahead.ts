/**
 * Retrieves (and stores) each planned message with several in flight: RETRs are pipelined ahead while
 * earlier messages upload, within the in-flight budget (lib/pipeline/in-flight-budget.ts), which bounds
 * memory by the octets actually received and so is released as soon as a message is stored; its commit
 * (notify, DELE) goes on outside the budget. Stops starting new messages when the deadline's reserve is
 * reached, and reports that as the reason the run stopped early.
 */
import type { Deadline } from '../deadline.ts';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, DEFAULT_MAX_IN_FLIGHT_MESSAGES } from './defaults.ts';
import { StoreUnavailableError } from './errors.ts';
import { InFlightBudget } from './in-flight-budget.ts';
import type { ChargeReceived } from './message-tap.ts';
import type { PlannedMessage, RetrievalPlan } from './retrieval-plan.ts';
import type { RetrievedMessage } from './retrieve-and-store.ts';

export interface RetrieveAheadOptions {
  /** Time kept back for store, notify, DELE and QUIT of what is in flight. @default min(10 s, 25 % of the budget) */
  readonly finishReserveMs?: number;
  /** Messages retrieved but not yet stored, at most. @default DEFAULT_MAX_IN_FLIGHT_MESSAGES */
  readonly maxInFlightMessages?: number;
  /** Octets received but not yet stored, at most (see InFlightBudget). @default DEFAULT_MAX_IN_FLIGHT_BYTES */
  readonly maxInFlightBytes?: number;
}

export async function retrieveAhead(
  plan: RetrievalPlan,
  deadline: Deadline,
  options: RetrieveAheadOptions,
  retrieve: (planned: PlannedMessage, charge: ChargeReceived) => Promise<RetrievedMessage | undefined>,
  commit: (retrieved: RetrievedMessage) => Promise<void>,
): Promise<{ reason: string; message: string } | undefined> {
  const budget = new InFlightBudget(
    options.maxInFlightMessages ?? DEFAULT_MAX_IN_FLIGHT_MESSAGES,
    options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES,
  );
  const reserveMs = options.finishReserveMs ?? Math.min(10_000, deadline.remainingMs() * 0.25);
  // What is in flight when we stop must still finish: keep twice the slowest message seen so far on top.
  let slowestMs = 0;
  const running = new Set<Promise<void>>();
  let fatal: { error: unknown } | undefined;
  let stopped: { reason: string; message: string } | undefined;
  for (const planned of plan.retrieve) {
    const charge = await budget.admit(planned.listedSize);
    if (fatal) {
      charge.release();
      break;
    }
    if (deadline.remainingMs() < reserveMs + 2 * slowestMs) {
      charge.release();
      stopped = {
        reason: 'deadline',
        message: 'stopped starting new messages to finish before the deadline',
      };
      break;
    }
    const started = performance.now();
    const task: Promise<void> = retrieve(planned, (octets) => charge.received(octets))
      .finally(() => {
        charge.release();
        slowestMs = Math.max(slowestMs, performance.now() - started);
      })
      .then((retrieved) => (retrieved ? commit(retrieved) : undefined))
      .catch((error: unknown) => {
        fatal ??= { error };
      })
      .finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all(running);
  // A store that is down stops the run, but what was already stored and notified still gets committed.
  if (fatal?.error instanceof StoreUnavailableError) return { reason: 'store', message: fatal.error.message };
  if (fatal) throw fatal.error;
  return stopped;
}
