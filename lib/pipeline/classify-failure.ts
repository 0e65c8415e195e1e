/**
 * Maps what stopped a run to the outcome a scheduler acts on: retry later, do not retry blindly (auth),
 * or fail. RFC 3206 response codes decide where the server gives one.
 */
import {
  Pop3AuthenticationError,
  Pop3ConnectionError,
  Pop3Error,
  Pop3ServerError,
  Pop3TimeoutError,
} from '../pop3/errors.ts';
import { isRateOrQuotaText } from '../pop3/response-codes.ts';
import {
  type ConnectionContext,
  connectionHint,
  HINT_EXPECTS_TLS,
  HINT_REFUSED,
} from './connection-hints.ts';
import { KeepModeError, StoreUnavailableError } from './errors.ts';
import type { OutcomeStatus } from './outcome.ts';
import { OUTCOME_REASONS, type OutcomeReason } from './reasons.ts';

export interface Classified {
  readonly status: Exclude<OutcomeStatus, 'ok' | 'partial'>;
  readonly reason: OutcomeReason;
  readonly message: string;
  /** From [LOGIN-DELAY n] or CAPA's LOGIN-DELAY: when the mailbox may be polled again. */
  readonly retryAfterSeconds?: number;
}

/** Codes that mean "not now" rather than "not ever" (RFC 2449 §8.1, RFC 3206 §4–5). */
const TRANSIENT_CODES = ['IN-USE', 'LOGIN-DELAY', 'SYS/TEMP'] as const;

/**
 * With the connection's context, a usual configuration mistake (lib/pipeline/connection-hints.ts) gets
 * its fix added to the message, and DNS and TLS mistakes their own reason: they fail rather than being
 * retried as if they were transient. So does a plain connection whose server never greeted or answered
 * with TLS bytes (tls: starttls/none against an implicit-TLS port): a timeout that is the configuration's.
 * A refused connection gets its own reason too (`refused`, still retried: a server restarting refuses),
 * so the circuit breaker can tell a port where nothing listens from a network blip.
 */
export function classifyFailure(error: unknown, connection?: ConnectionContext): Classified {
  const classified = classifyError(error);
  const found = connection === undefined ? undefined : connectionHint(error, connection);
  if (found === undefined) return { ...classified, message: oneLine(classified.message) };
  const message = oneLine(`${oneLine(found.message ?? classified.message)}; ${found.hint}`);
  if (found.reason !== undefined) return { status: 'failed', reason: found.reason, message };
  if (found.hint === HINT_EXPECTS_TLS) return { status: 'failed', reason: 'tls', message };
  if (found.hint === HINT_REFUSED) return { status: 'retry-later', reason: 'refused', message };
  return { ...classified, message };
}

function classifyError(error: unknown): Classified {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Pop3ServerError) {
    const transient = TRANSIENT_CODES.find((code) => error.hasCode(code));
    if (transient === 'LOGIN-DELAY' && error.retryAfterSeconds !== undefined) {
      return {
        status: 'retry-later',
        reason: transient,
        message,
        retryAfterSeconds: error.retryAfterSeconds,
      };
    }
    if (transient) return { status: 'retry-later', reason: transient, message };
    // "Download exceeded", "too many ...": a quota or rate, not a fault; what was stored is kept.
    if (isRateOrQuotaText(error.serverText))
      return { status: 'retry-later', reason: 'rate-limited', message };
    if (error instanceof Pop3AuthenticationError) {
      // [SYS/PERM] on login is the server's own permanent trouble, not bad credentials.
      if (error.hasCode('SYS')) return { status: 'failed', reason: 'SYS/PERM', message };
      return { status: 'auth-failed', reason: 'auth', message };
    }
    // The server's own response code, if any, stays in the message; the reason is one of a closed set.
    if (error.hasCode('SYS/PERM')) return { status: 'failed', reason: 'SYS/PERM', message };
    return { status: 'failed', reason: 'server-error', message };
  }
  if (error instanceof Pop3TimeoutError) {
    return { status: 'retry-later', reason: error.phase === 'deadline' ? 'deadline' : 'timeout', message };
  }
  if (error instanceof Pop3ConnectionError) return { status: 'retry-later', reason: 'network', message };
  if (error instanceof StoreUnavailableError) return { status: 'retry-later', reason: 'store', message };
  if (error instanceof KeepModeError)
    return { status: OUTCOME_REASONS[error.reason], reason: error.reason, message };
  // Never the error's class name as a reason: bundles may shorten it, and the set of reasons is closed.
  if (error instanceof Pop3Error) return { status: 'failed', reason: 'protocol', message };
  // lib/oauth/errors.ts: the grant was refused for good, or the token endpoint is down.
  if (error instanceof Error && error.name === 'OAuth2RevokedError') {
    return { status: 'auth-failed', reason: 'auth-revoked', message };
  }
  if (error instanceof Error && error.name === 'TokenEndpointUnavailableError') {
    return { status: 'retry-later', reason: 'token-endpoint', message };
  }
  // The credentials port's adapters name their errors so (lib/adapters/credentials.ts): a missing env
  // variable or secret is a configuration problem of this mailbox.
  if (error instanceof Error && error.name === 'CredentialsError') {
    return { status: 'failed', reason: 'credentials', message };
  }
  return { status: 'failed', reason: 'error', message };
}

/**
 * An outcome's message is one line, always: it is printed as one line of the CLI's stderr and logged as
 * one field of a Lambda log record, and some texts carry line breaks of their own (OpenSSL's error
 * strings end in one; a server's or an SDK's text may hold several). Each run of line breaks, with the
 * blanks around it, becomes one space.
 */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').trim();
}
