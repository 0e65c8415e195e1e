/**
 * The POP3 session states (RFC 1939 §3), which commands each allows, and every event that moves them.
 * Everything that affects the state lives here (as h11's `_state.py`); Pop3Connection (connection.ts)
 * owns the one instance of a session and feeds it each command it accepts and each reply it completes,
 * so the state follows the conversation itself and no caller can advance it. Callers only ask (`state`,
 * `assertAllowed`). Checked before a command is queued, so a programming error becomes a Pop3UsageError
 * instead of a server -ERR (or worse, a command the server executes in a state we did not mean).
 */
import { Pop3UsageError } from './errors.ts';
import type { StatusLine } from './reply-decoder.ts';

export type SessionState = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

/**
 * What the state machine reads of a command (every Pop3Command in commands.ts has it). Declared here,
 * not imported, so that commands.ts depends on this file and not the other way round.
 */
export interface StateGatedCommand {
  readonly keyword: string;
  readonly allowedIn: readonly SessionState[];
}

/** What a caller may read of the session: it asks, it never advances. */
export interface SessionView {
  readonly state: SessionState;
  /** True once QUIT was issued: the session is over whatever the state. */
  readonly quitSent: boolean;
  /** TLS is active: from the first byte (implicit TLS), or since +OK to STLS. */
  readonly tlsActive: boolean;
  /** Throws Pop3UsageError when `command` must not be sent now. Nothing is sent either way. */
  assertAllowed(command: StateGatedCommand): void;
}

/**
 * A final +OK to these opens the maildrop (RFC 1939 §4, RFC 5034 §4). USER's +OK does not (PASS must
 * follow); AUTH's '+' is a SASL challenge, not the end of the exchange.
 */
const LOGIN_COMPLETING = new Set(['PASS', 'APOP', 'AUTH']);

export class SessionStateMachine implements SessionView {
  #state: SessionState = 'AUTHORIZATION';
  #quitSent = false;
  #tlsActive: boolean;

  /** `tlsActive`: the connection is TLS from its first byte (implicit TLS, port 995). @default false */
  constructor(options: { readonly tlsActive?: boolean } = {}) {
    this.#tlsActive = options.tlsActive ?? false;
  }

  get state(): SessionState {
    return this.#state;
  }

  get quitSent(): boolean {
    return this.#quitSent;
  }

  get tlsActive(): boolean {
    return this.#tlsActive;
  }

  assertAllowed(command: StateGatedCommand): void {
    if (this.#quitSent) {
      throw new Pop3UsageError(`${command.keyword} cannot be sent after QUIT`, { command: command.keyword });
    }
    if (!command.allowedIn.includes(this.#state)) {
      throw new Pop3UsageError(
        `${command.keyword} is not allowed in the ${this.#state} state (allowed in ${command.allowedIn.join(', ')})`,
        { command: command.keyword },
      );
    }
    // A second STLS would ask for TLS inside TLS (RFC 2595 §4 defines one negotiation per session).
    if (command.keyword === 'STLS' && this.#tlsActive) {
      throw new Pop3UsageError('STLS cannot be sent twice: TLS is already active', { command: 'STLS' });
    }
  }

  /**
   * `command` is accepted to be sent: checked, then QUIT ends the session. From TRANSACTION the server
   * enters UPDATE and removes messages marked deleted (RFC 1939 §6); from AUTHORIZATION it just closes,
   * and the state stays as it was. Whatever follows QUIT is refused, even while QUIT waits its turn.
   */
  onCommand(command: StateGatedCommand): void {
    this.assertAllowed(command);
    if (command.keyword !== 'QUIT') return;
    this.#quitSent = true;
    if (this.#state === 'TRANSACTION') this.#state = 'UPDATE';
  }

  /**
   * The complete reply to `command`. +OK to PASS, APOP or AUTH: the maildrop is locked and open, the
   * session is in TRANSACTION (RFC 1939 §4). +OK to STLS: TLS negotiation starts (RFC 2595 §4), and a
   * second STLS is refused from here on, whether or not the handshake completes. -ERR changes nothing.
   */
  onReply(command: StateGatedCommand, status: Pick<StatusLine, 'kind'>): void {
    if (status.kind !== '+OK') return;
    if (command.keyword === 'STLS') this.#tlsActive = true;
    else if (LOGIN_COMPLETING.has(command.keyword) && this.#state === 'AUTHORIZATION') {
      this.#state = 'TRANSACTION';
    }
  }
}
