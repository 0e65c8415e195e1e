/**
 * Which login mechanism to try next, without I/O. An explicit `auth` means exactly that mechanism, once
 * (XOAUTH2 may add its other form, below).
 * `auto` tries what the server offers, best first for THIS connection, and falls back when one is refused:
 *
 * - Over TLS, mechanisms that send the secret (SASL PLAIN, USER/PASS, LOGIN) come first: TLS protects them
 *   and they are what servers have configured most often. CRAM-MD5 and APOP follow; they exist to keep
 *   the password off a connection without TLS, and many servers advertise them without a secret for them
 *   (an APOP timestamp in the greeting, then `-ERR [AUTH]`).
 * - Without TLS, CRAM-MD5 and APOP come first, and a mechanism that sends the secret is tried only with
 *   allowInsecureAuth: never weaker than allowed.
 * - One attempt per mechanism and at most MAX_LOGIN_ATTEMPTS in all, so a wrong password does not lock
 *   the account (servers count failures). XOAUTH2 refused for its form rather than its token is sent once
 *   more in the other form (LoginExchange.otherForm); that second AUTH is an attempt of its own.
 * - A refusal with a code that is not about the credentials ([IN-USE], [LOGIN-DELAY], [SYS/...]) ends the
 *   attempts at once: the mailbox, not the mechanism, is the problem.
 * - A server that closes the connection after a refusal: after `-ERR [AUTH]` (the credentials were
 *   checked and refused, RFC 3206 §5) the attempts end, auth-failed; otherwise the next mechanism is tried
 *   on a new connection.
 * When every mechanism tried was refused, the error lists each attempt.
 */
import type { AuthMethod, Credentials } from './credentials.ts';
import { Pop3LoginRefusedError, Pop3SecurityError, type Pop3ServerError } from './errors.ts';
import { MAX_LOGIN_ATTEMPTS } from './limits.ts';
import {
  findLoginMechanism,
  LOGIN_MECHANISMS,
  type LoginExchange,
  type LoginMechanismEntry,
  type LoginOffer,
  saslEntry,
} from './login-mechanisms.ts';

/** Response codes on a refused login that say the mailbox cannot be opened now, whatever the mechanism. */
const STOPPING_CODES = ['IN-USE', 'LOGIN-DELAY', 'SYS'] as const;

export interface LoginAttempt {
  readonly mechanism: string;
  readonly error: Pop3ServerError;
}

export class LoginPlan {
  readonly #credentials: Credentials;
  readonly #method: AuthMethod;
  readonly #maxAttempts: number;
  readonly #attempts: LoginAttempt[] = [];
  /** Started on the current connection and not yet answered. */
  #current: string | undefined;

  readonly #mechanisms: readonly LoginMechanismEntry[];

  /** `mechanisms`: the entries to choose from, by preference (LOGIN_MECHANISMS unless a test plugs in its own). */
  constructor(
    credentials: Credentials,
    method: AuthMethod,
    { maxAttempts = MAX_LOGIN_ATTEMPTS, mechanisms = LOGIN_MECHANISMS } = {},
  ) {
    this.#credentials = credentials;
    this.#method = method;
    // An explicit `auth` has one candidate and ends at its first refusal (see `refused`); the cap only
    // bounds XOAUTH2's other form there.
    this.#maxAttempts = maxAttempts;
    this.#mechanisms = mechanisms;
  }

  get attempts(): readonly LoginAttempt[] {
    return this.#attempts;
  }

  /**
   * The mechanism to try now on a connection offering `offer`. Throws the reason when there is none:
   * Pop3SecurityError when nothing usable is offered (or only what would be weaker than allowed),
   * Pop3LoginRefusedError listing the attempts when every one tried was refused.
   */
  next(offer: LoginOffer): LoginMechanismEntry {
    const untried = this.#candidates(offer).filter((entry) => !this.#tried(entry.name));
    const permitted = untried.filter((entry) => !weakerThanAllowed(entry, offer));
    const entry = permitted[0];
    if (entry === undefined || this.#attempts.length >= this.#maxAttempts) {
      if (this.#attempts.length === 0 && untried[0] !== undefined) throw insecure(offer, untried[0]);
      throw this.#nothingLeft(offer, untried);
    }
    this.#current = entry.name;
    return entry;
  }

  /**
   * The server answered -ERR to the current mechanism's `exchange`. Throws when the attempts must end here
   * (a code about the mailbox rather than the credentials, or an explicit `auth`). Returns the exchange to
   * send next on this connection when the same mechanism goes once more in its other form (within the
   * cap); otherwise undefined, and `next` gives the following mechanism.
   */
  refused(error: Pop3ServerError, exchange?: LoginExchange): LoginExchange | undefined {
    const mechanism = this.#current ?? '?';
    this.#attempts.push({ mechanism, error });
    if (STOPPING_CODES.some((code) => error.hasCode(code))) {
      this.#current = undefined;
      throw error;
    }
    const again = this.#attempts.length < this.#maxAttempts ? exchange?.otherForm?.(error) : undefined;
    if (again !== undefined) return again;
    this.#current = undefined;
    if (this.#method !== 'auto') throw error;
    return undefined;
  }

  /**
   * The connection closed while the current mechanism waited for its reply. Returns true when the next
   * attempt should go on a new connection; throws when the attempts end (a refusal of the credentials
   * came first, or nothing was refused yet, so the close is the connection's problem: `cause` is thrown).
   */
  closed(cause: Error): true {
    this.#current = undefined;
    const last = this.#attempts.at(-1);
    if (last === undefined || this.#method !== 'auto') throw cause;
    if (last.error.hasCode('AUTH')) throw new Pop3LoginRefusedError(this.#attempts, { closed: true });
    return true;
  }

  #tried(name: string): boolean {
    return this.#attempts.some((attempt) => attempt.mechanism === name);
  }

  #candidates(offer: LoginOffer): readonly LoginMechanismEntry[] {
    if (this.#method !== 'auto') {
      const name = this.#method.toUpperCase();
      const known = this.#mechanisms.find((entry) => entry.name === name) ?? findLoginMechanism(name);
      return [known ?? saslEntry(name, this.#credentials.kind, true)];
    }
    return orderFor(offer.encrypted, this.#mechanisms).filter(
      (entry) => entry.credentialKind === this.#credentials.kind && entry.offered(offer),
    );
  }

  #nothingLeft(offer: LoginOffer, untried: readonly LoginMechanismEntry[]): Error {
    if (this.#attempts.length > 0) {
      return new Pop3LoginRefusedError(this.#attempts, {
        notTried: untried.map((entry) =>
          weakerThanAllowed(entry, offer) ? `${entry.name} (needs TLS or allowInsecureAuth)` : entry.name,
        ),
        cap: this.#attempts.length >= this.#maxAttempts ? this.#maxAttempts : undefined,
      });
    }
    return new Pop3SecurityError(
      `${offer.server} offers no login mechanism usable with ${this.#credentials.kind} credentials ` +
        `(SASL: ${offer.capabilities.sasl.join(' ') || 'none'})`,
      { server: offer.server },
    );
  }
}

/** The preference order on a connection with or without TLS (see the file comment). */
export function orderFor(
  encrypted: boolean,
  mechanisms: readonly LoginMechanismEntry[] = LOGIN_MECHANISMS,
): LoginMechanismEntry[] {
  const sendsSecret = mechanisms.filter((entry) => entry.sendsSecret);
  const keepsSecret = mechanisms.filter((entry) => !entry.sendsSecret);
  return encrypted ? [...sendsSecret, ...keepsSecret] : [...keepsSecret, ...sendsSecret];
}

/** Sends the secret itself over a connection without TLS, and that was not allowed. */
function weakerThanAllowed(entry: LoginMechanismEntry, offer: LoginOffer): boolean {
  return entry.sendsSecret && !offer.encrypted && !offer.allowInsecureAuth;
}

function insecure(offer: LoginOffer, entry: LoginMechanismEntry): Pop3SecurityError {
  const secret = entry.credentialKind === 'oauth2' ? 'a token' : 'a password';
  return new Pop3SecurityError(
    `refusing to send ${secret} to ${offer.server} over a connection without TLS (${entry.name}); use TLS, ` +
      'or set allowInsecureAuth to accept the risk',
    { server: offer.server },
  );
}
