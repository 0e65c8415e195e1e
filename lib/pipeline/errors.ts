/**
 * The errors the pipeline itself throws, in one place. classifyFailure (classify-failure.ts) maps them to
 * an outcome by class; their `name`s are kept as they were, since logs and tests read them and a bundler
 * must not be the one to choose them. Errors of the ports (StateConflictError, StateTooLargeError) stay
 * in lib/ports.ts, with the contract that throws them; the POP3 errors in lib/pop3/errors.ts.
 */
import type { OutcomeReason } from './reasons.ts';

/** Several stores in a row failed: the store itself is down, so the run stops and retries later. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/** A keep-mode run cannot go on; `reason` is the outcome's (lib/pipeline/reasons.ts). */
export class KeepModeError extends Error {
  override readonly name = 'KeepModeError';
  readonly reason: Extract<OutcomeReason, 'no-uidl' | 'listing-too-long' | 'state-conflict' | 'state-store'>;

  constructor(reason: KeepModeError['reason'], message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}
