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
 * - `preferredMechanism` (the one that worked last time for this server and user) goes first when this
 *   connection offers it and allows it; the order above follows.
 *
 * Refusals and account lockout. Every mechanism checks the same password against the same store, and
 * servers count failed logins (fail2ban, Microsoft smart lockout, ISPs): a run every 5 minutes that tried
 * three mechanisms with a wrong password made 864 failed logins a day. So a refusal counts as a CHECK of
 * the credentials unless it cannot be one, and the checks per run are capped (MAX_PASSWORD_CHECKS,
 * MAX_TOKEN_CHECKS):
 * - A mechanism that sends the secret (PLAIN, USER/PASS, LOGIN, XOAUTH2, OAUTHBEARER), refused after the
 *   secret left, ends the attempts: with `[AUTH]` (RFC 3206 §4: the credentials were checked) AND without
 *   a code, because most servers send no code at all (Dovecot, Courier, Exchange say "-ERR Authentication
 *   failed."), and the next mechanism would send the same password to the same check.
 * - Not a check: a refusal before the secret left (USER refused before PASS, AUTH refused before any
 *   response), and a refusal whose text says the mechanism is not supported or not enabled (Dovecot's
 *   "Unsupported authentication mechanism.", "Unknown command"; see refusedTheMechanism). Those fall
 *   back to the next mechanism as before: a server advertising SASL PLAIN that only takes USER/PASS
 *   still gets in. XOAUTH2's other form is not a check either (the server refused the form before it
 *   read the token, lib/pop3/login-mechanisms.ts).
 * - A digest mechanism (APOP, CRAM-MD5) refused is a check, but often only "no secret stored for it":
 *   the next attempt is then ONE mechanism that sends the password, when the connection allows one, and
 *   that is the last (2 checks). A token gets 1.
 * - A refusal with a code that is not about the credentials ([IN-USE], [LOGIN-DELAY], [SYS/...]) ends the
 *   attempts at once: the mailbox, not the mechanism, is the problem.
 * - A server that closes the connection after a refusal: after a check was refused with `[AUTH]`, or after
 *   a mechanism that sent the secret, the attempts end (auth-failed); otherwise the next mechanism is
 *   tried on a new connection.
 * When every mechanism tried was refused, the error lists each attempt.
 */
import type { AuthMethod, Credentials } from './credentials.ts';
import { Pop3LoginRefusedError, Pop3SecurityError, type Pop3ServerError } from './errors.ts';
import { MAX_LOGIN_ATTEMPTS, MAX_PASSWORD_CHECKS, MAX_TOKEN_CHECKS } from './limits.ts';
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

/**
 * A refusal whose text says the mechanism itself is not available, not that the credentials are wrong:
 * "Unsupported authentication mechanism." (Dovecot), "Unknown command" (a server that lists USER in CAPA
 * but took it out), "mechanism not enabled", "Unrecognized authentication type". Matched on words that
 * name the mechanism or command, so "Authentication failed" and "invalid password" never match.
 */
const MECHANISM_REFUSED =
  /\b(?:unsupported|not supported|unknown|unrecognized|unrecognised|not available|not enabled|disabled|not implemented|not allowed|disallowed)\b[^.]*?\b(?:mechanism|method|command|authentication type)s?\b|\b(?:mechanism|method|command)s?\b[^.]*?\b(?:unsupported|not supported|unknown|unrecognized|unrecognised|not available|not enabled|disabled|not implemented|not allowed|disallowed)\b/i;

export function refusedTheMechanism(error: Pop3ServerError): boolean {
  return MECHANISM_REFUSED.test(error.serverText);
}

export interface LoginAttempt {
  readonly mechanism: string;
  readonly error: Pop3ServerError;
  /** The server may have checked the credentials with this refusal (see the file comment). */
  readonly checked: boolean;
}

export interface LoginPlanOptions {
  /** Attempts in all, checks or not. @default MAX_LOGIN_ATTEMPTS */
  readonly maxAttempts?: number;
  /** Refusals that may have checked the credentials. @default MAX_PASSWORD_CHECKS or MAX_TOKEN_CHECKS */
  readonly maxChecks?: number;
  /** The entries to choose from, by preference. @default LOGIN_MECHANISMS */
  readonly mechanisms?: readonly LoginMechanismEntry[];
  /** Tried first when offered and allowed ('USER', 'PLAIN', ...): what worked last time. */
  readonly preferredMechanism?: string | undefined;
}

export class LoginPlan {
  readonly #credentials: Credentials;
  readonly #method: AuthMethod;
  readonly #maxAttempts: number;
  readonly #maxChecks: number;
  readonly #attempts: LoginAttempt[] = [];
  /** Started on the current connection and not yet answered. */
  #current: LoginMechanismEntry | undefined;
  /** Mechanisms whose connection closed before they were answered (see `closed`). */
  readonly #cutOff = new Set<string>();
  /** Why no further mechanism may be tried, once that is decided. */
  #ended: 'secret-refused' | undefined;

  readonly #mechanisms: readonly LoginMechanismEntry[];
  readonly #preferred: string | undefined;

  constructor(credentials: Credentials, method: AuthMethod, options: LoginPlanOptions = {}) {
    this.#credentials = credentials;
    this.#method = method;
    // An explicit `auth` has one candidate and ends at its first refusal (see `refused`); the cap only
    // bounds XOAUTH2's other form there.
    this.#maxAttempts = options.maxAttempts ?? MAX_LOGIN_ATTEMPTS;
    this.#maxChecks =
      options.maxChecks ?? (credentials.kind === 'oauth2' ? MAX_TOKEN_CHECKS : MAX_PASSWORD_CHECKS);
    this.#mechanisms = options.mechanisms ?? LOGIN_MECHANISMS;
    this.#preferred = options.preferredMechanism?.toUpperCase();
  }

  get attempts(): readonly LoginAttempt[] {
    return this.#attempts;
  }

  /**
   * The mechanism to try now on a connection offering `offer`. Throws the reason when there is none:
   * Pop3SecurityError when nothing usable is offered (or only what would be weaker than allowed),
   * Pop3LoginRefusedError listing the attempts when every one tried was refused or the checks are used up.
   */
  next(offer: LoginOffer): LoginMechanismEntry {
    const untried = this.#candidates(offer).filter((entry) => !this.#tried(entry.name));
    const permitted = untried.filter((entry) => !weakerThanAllowed(entry, offer));
    const entry = permitted[0];
    if (entry === undefined || this.#exhausted()) {
      if (this.#attempts.length === 0 && untried[0] !== undefined) throw insecure(offer, untried[0]);
      throw this.#nothingLeft(offer, untried);
    }
    this.#current = entry;
    return entry;
  }

  /**
   * The server answered -ERR to the current mechanism's `exchange`. Throws when the attempts must end here
   * (a code about the mailbox rather than the credentials, or an explicit `auth`). Returns the exchange to
   * send next on this connection when the same mechanism goes once more in its other form (within the
   * cap); otherwise undefined, and `next` gives the following mechanism (or says why there is none).
   */
  refused(error: Pop3ServerError, exchange?: LoginExchange): LoginExchange | undefined {
    const entry = this.#current;
    const mechanism = entry?.name ?? '?';
    if (STOPPING_CODES.some((code) => error.hasCode(code))) {
      this.#attempts.push({ mechanism, error, checked: false });
      this.#current = undefined;
      throw error;
    }
    const again = this.#attempts.length + 1 < this.#maxAttempts ? exchange?.otherForm?.(error) : undefined;
    // The other form: the server refused the form before it read the token, so it checked nothing.
    const checked = again === undefined && (exchange?.secretSent?.() ?? true) && !refusedTheMechanism(error);
    this.#attempts.push({ mechanism, error, checked });
    if (again !== undefined) return again;
    this.#current = undefined;
    if (this.#method !== 'auto') throw error;
    if (checked && (entry?.sendsSecret ?? true)) this.#ended = 'secret-refused';
    return undefined;
  }

  /**
   * The connection closed while the current mechanism waited for its reply. Returns true when the next
   * attempt should go on a new connection; throws when the attempts end (a refusal of the credentials
   * came first, or nothing was refused yet, so the close is the connection's problem: `cause` is thrown).
   */
  closed(cause: Error): true {
    const unanswered = this.#current?.name;
    this.#current = undefined;
    const last = this.#attempts.at(-1);
    if (last === undefined || this.#method !== 'auto') throw cause;
    // A mechanism cut off before its answer goes again once on the new connection, not in a loop: a
    // server that closes instead of answering may have checked the password each time.
    if (unanswered !== undefined && this.#cutOff.has(unanswered)) throw cause;
    if (unanswered !== undefined) this.#cutOff.add(unanswered);
    if ((last.checked && last.error.hasCode('AUTH')) || this.#ended !== undefined) {
      throw new Pop3LoginRefusedError(this.#attempts, { closed: true });
    }
    return true;
  }

  #tried(name: string): boolean {
    return this.#attempts.some((attempt) => attempt.mechanism === name);
  }

  #checks(): number {
    return this.#attempts.filter((attempt) => attempt.checked).length;
  }

  #exhausted(): boolean {
    return (
      this.#ended !== undefined ||
      this.#attempts.length >= this.#maxAttempts ||
      this.#checks() >= this.#maxChecks
    );
  }

  #candidates(offer: LoginOffer): readonly LoginMechanismEntry[] {
    if (this.#method !== 'auto') {
      const name = this.#method.toUpperCase();
      const known = this.#mechanisms.find((entry) => entry.name === name) ?? findLoginMechanism(name);
      return [known ?? saslEntry(name, this.#credentials.kind, true)];
    }
    const offered = orderFor(offer.encrypted, this.#mechanisms).filter(
      (entry) => entry.credentialKind === this.#credentials.kind && entry.offered(offer),
    );
    // After a refused digest, the one check left goes to a mechanism that sends the password: a second
    // digest refused would most likely be the same missing digest secret, not a wrong password.
    const afterDigest = this.#attempts.some((attempt) => attempt.checked);
    const ordered = afterDigest
      ? [...offered.filter((entry) => entry.sendsSecret), ...offered.filter((entry) => !entry.sendsSecret)]
      : offered;
    const preferred = ordered.find((entry) => entry.name === this.#preferred);
    return preferred === undefined || weakerThanAllowed(preferred, offer)
      ? ordered
      : [preferred, ...ordered.filter((entry) => entry !== preferred)];
  }

  #nothingLeft(offer: LoginOffer, untried: readonly LoginMechanismEntry[]): Error {
    if (this.#attempts.length > 0) {
      return new Pop3LoginRefusedError(this.#attempts, {
        notTried: untried.map((entry) =>
          weakerThanAllowed(entry, offer) ? `${entry.name} (needs TLS or allowInsecureAuth)` : entry.name,
        ),
        cap: this.#ended === undefined && this.#exhausted() ? this.#attempts.length : undefined,
        secretRefused: this.#ended === 'secret-refused',
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
