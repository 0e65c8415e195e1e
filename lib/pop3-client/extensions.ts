/**
 * The server's extensions, kept current for one session: its capabilities (CAPA, RFC 2449), read at the
 * greeting, again under TLS (RFC 2595 §4 forgets what was said before) and again after login (some
 * servers, Gmail, show PIPELINING only then), and UTF-8 mode (RFC 6856), turned on after login when
 * offered, before anything is listed or retrieved. Pop3Client reads it; nothing here is public API.
 */
import { Pop3Commands } from '../pop3/commands.ts';
import { Pop3ServerError } from '../pop3/errors.ts';
import { type Capabilities, NO_CAPABILITIES } from '../pop3/parsers.ts';
import type { Conversation } from './conversation.ts';

export interface ExtensionOptions {
  /** The client may pipeline (Pop3ClientOptions.pipelining). */
  readonly pipelining: boolean;
  /** Send UTF8 when CAPA lists it (Pop3ClientOptions.utf8). */
  readonly utf8: boolean;
}

export class SessionExtensions {
  readonly #conversation: Conversation;
  readonly #options: ExtensionOptions;
  #capabilities: Capabilities = NO_CAPABILITIES;
  #utf8Mode = false;
  /**
   * Set while the CAPA sent right after login is unanswered (see `afterLogin`): settles once its reply
   * is read (and UTF8 answered, when that CAPA newly offers it). RETR and TOP issued meanwhile wait for it.
   */
  #afterLogin: Promise<unknown> | undefined;

  constructor(conversation: Conversation, options: ExtensionOptions) {
    this.#conversation = conversation;
    this.#options = options;
  }

  get capabilities(): Capabilities {
    return this.#capabilities;
  }

  /** Whether the server accepted UTF8: it then hands out messages with 8-bit headers as they are. */
  get utf8Mode(): boolean {
    return this.#utf8Mode;
  }

  /** CAPA said PIPELINING and the client may pipeline. */
  get pipelines(): boolean {
    return this.#options.pipelining && this.#capabilities.pipelining;
  }

  /**
   * Sends CAPA and keeps what it says. `unanswered`: sent without waiting, so a refusal with a code must
   * also fail what was sent after it.
   */
  async refresh(unanswered = false): Promise<Capabilities> {
    try {
      const failsSession = unanswered ? refusedWithCode : undefined;
      this.#capabilities = (
        await this.#conversation.send(Pop3Commands.capa(), undefined, failsSession)
      ).value;
    } catch (error) {
      // A server without CAPA (RFC 1939 only) answers -ERR: it simply has no extensions. A -ERR with a
      // response code is the server failing the session (e.g. [SYS/TEMP] right after login), not that.
      if (!(error instanceof Pop3ServerError) || error.responseCode !== undefined) throw error;
      this.#capabilities = NO_CAPABILITIES;
    }
    this.#conversation.pipelining = this.pipelines;
    return this.#capabilities;
  }

  /**
   * Right after login: re-reads CAPA, then turns on UTF-8 mode when the server offers it. When the
   * server pipelines (its CAPA before login said so, RFC 2449 §6.6) and UTF-8 mode is not already due,
   * CAPA goes out without waiting for its reply: the listing that follows goes in the same round trip,
   * and the reply to CAPA, read first, updates `capabilities` before any later reply.
   */
  async afterLogin(): Promise<void> {
    if (this.pipelines && !(this.#options.utf8 && this.#capabilities.utf8)) {
      this.#inBackground();
      return;
    }
    await this.refresh();
    if (this.#options.utf8 && this.#capabilities.utf8) await this.#enableUtf8();
  }

  /** Runs `send` now, or once the CAPA after login (and UTF8) is answered; either way in call order. */
  whenSettled(send: () => void): void {
    if (this.#afterLogin === undefined) send();
    else this.#afterLogin.then(send);
  }

  /**
   * The CAPA after login, unanswered. A CAPA refused with a response code (the session failing, e.g.
   * [SYS/TEMP]) fails the connection, so every command after it fails with that error, as the login
   * itself did before. UTF-8 mode: only when the CAPA before login did not offer it (else the login
   * waits, as without pipelining); a server that offers it only now gets UTF8 before the first RETR or TOP.
   */
  #inBackground(): void {
    const settled = this.refresh(true)
      .then(async () => {
        if (this.#options.utf8 && this.#capabilities.utf8 && !this.#conversation.session.quitSent)
          await this.#enableUtf8();
      })
      .catch((error: unknown) => {
        this.#conversation.fail(error instanceof Error ? error : new Error(String(error)));
      });
    this.#afterLogin = settled;
    // Registered first, so it runs before the sends `whenSettled` deferred: those keep their call order,
    // and any command issued after this ran goes after them.
    settled.then(() => {
      this.#afterLogin = undefined;
    });
  }

  async #enableUtf8(): Promise<void> {
    try {
      await this.#conversation.send(Pop3Commands.utf8());
      this.#utf8Mode = true;
    } catch (error) {
      // A -ERR leaves the session as it was (RFC 6856 §2): go on without UTF-8 mode, and say so.
      if (!(error instanceof Pop3ServerError)) throw error;
    }
  }
}

/** -ERR with a response code: the server failing the session (e.g. [SYS/TEMP]), not a missing extension. */
function refusedWithCode(error: Error): boolean {
  return error instanceof Pop3ServerError && error.responseCode !== undefined;
}
