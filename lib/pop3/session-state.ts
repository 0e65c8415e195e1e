/**
 * The POP3 session states (RFC 1939 §3) and which commands each allows. Checked before a command is
 * written, so a programming error becomes a Pop3UsageError instead of a server -ERR (or worse, a
 * command the server executes in a state we did not mean).
 */
import { Pop3UsageError } from './errors.ts';

export type SessionState = 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';

/**
 * What the state machine reads of a command (every Pop3Command in commands.ts has it). Declared here,
 * not imported, so that commands.ts depends on this file and not the other way round.
 */
export interface StateGatedCommand {
  readonly keyword: string;
  readonly allowedIn: readonly SessionState[];
}

export class SessionStateMachine {
  #state: SessionState = 'AUTHORIZATION';
  #quitSent = false;
  #tlsStarted = false;

  get state(): SessionState {
    return this.#state;
  }

  /** True once QUIT was sent: the session is over whatever the state. */
  get quitSent(): boolean {
    return this.#quitSent;
  }

  /** Throws Pop3UsageError when `command` must not be sent now. Nothing is sent either way. */
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
    if (command.keyword === 'STLS' && this.#tlsStarted) {
      throw new Pop3UsageError('STLS cannot be sent twice: TLS is already active', { command: 'STLS' });
    }
  }

  /** USER/PASS, APOP or AUTH succeeded: the maildrop is locked and open (RFC 1939 §4). */
  onAuthenticated(): void {
    if (this.#state !== 'AUTHORIZATION') {
      throw new Pop3UsageError(`onAuthenticated() in the ${this.#state} state`);
    }
    this.#state = 'TRANSACTION';
  }

  /** STLS succeeded and the handshake is done. */
  onTlsStarted(): void {
    this.#tlsStarted = true;
  }

  /**
   * QUIT was written. From TRANSACTION the server enters UPDATE and removes messages marked deleted
   * (RFC 1939 §6); from AUTHORIZATION it just closes, and the state stays as it was.
   */
  onQuitSent(): void {
    this.#quitSent = true;
    if (this.#state === 'TRANSACTION') this.#state = 'UPDATE';
  }
}
