/**
 * A POP3 client (RFC 1939, RFC 2449, RFC 5034, RFC 2595 STLS) built on the sans-I/O core in lib/pop3.
 *
 *   const client = await Pop3Client.connect({ host, tls: 'implicit', deadline });
 *   await client.login(credentials);
 *   for (const { msg } of await client.list()) client.retr(msg).pipe(somewhere);
 *   const { confirmed } = await client.quit();
 *
 * Every method may be called without awaiting the previous one: commands queue, and are pipelined when
 * the server allows it. RETR/TOP return a Readable at once; its bytes are the exact unstuffed message.
 * This class is the API; the steps behind it have files of their own: connect.ts (connection, greeting,
 * STLS), authenticate.ts (login), extensions.ts (CAPA, UTF-8 mode), conversation.ts (the I/O).
 */
import type { Readable } from 'node:stream';
import type { Listing } from '../pop3/body-lines.ts';
import { type Pop3Command, Pop3Commands } from '../pop3/commands.ts';
import type { AuthMethod, Credentials } from '../pop3/credentials.ts';
import { Pop3ConnectionError, Pop3ServerError, Pop3UsageError } from '../pop3/errors.ts';
import { LoginPlan } from '../pop3/login-plan.ts';
import type { Capabilities, Greeting, ListEntry, UidlEntry } from '../pop3/parsers.ts';
import type { SessionState } from '../pop3/session-state.ts';
import { authenticate, loginOnNewConnections } from './authenticate.ts';
import { connectAndGreet, startTls } from './connect.ts';
import type { Conversation } from './conversation.ts';
import { SessionExtensions } from './extensions.ts';
import { MessageStream } from './message-stream.ts';
import { type Pop3ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.ts';
import type { Transport } from './transport.ts';

export interface QuitResult {
  /**
   * Nothing marked for deletion is left uncommitted: the server answered +OK to QUIT (the UPDATE state ran
   * and the DELEs are committed), or the session sent no DELE and retrieved nothing, so there was nothing
   * to commit and the reply was not waited for (`answered` false; quit's `waitForReply: 'if-changed'`).
   */
  readonly confirmed: boolean;
  readonly text: string | undefined;
  /** Whether the reply to QUIT was read. @default true */
  readonly answered?: boolean;
}

export class Pop3Client {
  readonly greeting: Greeting;
  readonly #options: ResolvedClientOptions;
  readonly #transport: Transport;
  readonly #conversation: Conversation;
  readonly #extensions: SessionExtensions;
  #mechanism: string | undefined;
  /**
   * A DELE, RETR or TOP went out in this session: QUIT's reply then tells whether the server committed
   * what the session changed (deletions; for EXPIRE servers, what was retrieved), and is waited for.
   */
  #changedServerState = false;
  /** Bytes that arrived before an STLS handshake and were thrown away (hostile or broken server). */
  #discardedBeforeTls = 0;

  private constructor(
    options: ResolvedClientOptions,
    transport: Transport,
    conversation: Conversation,
    greeting: Greeting,
  ) {
    this.#options = options;
    this.#transport = transport;
    this.#conversation = conversation;
    this.#extensions = new SessionExtensions(conversation, options);
    this.greeting = greeting;
  }

  /** Connects, reads the greeting, upgrades with STLS when asked, and reads the capabilities. */
  static async connect(input: Pop3ClientOptions): Promise<Pop3Client> {
    const options = resolveClientOptions(input);
    const greeted = await connectAndGreet(options);
    const { transport, conversation, greeting } = greeted;
    try {
      const client = new Pop3Client(options, transport, conversation, greeting);
      await client.#extensions.refresh();
      if (options.tls === 'starttls' && !transport.encrypted) {
        client.#discardedBeforeTls = await startTls(greeted, options, client.capabilities);
        // RFC 2595 §4: forget what was learned before TLS and ask again.
        await client.#extensions.refresh();
      }
      return client;
    } catch (error) {
      conversation.fail(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  get capabilities(): Capabilities {
    return this.#extensions.capabilities;
  }

  /** The session state, as the connection advanced it on the login, STLS and QUIT (lib/pop3/session-state.ts). */
  get state(): SessionState {
    return this.#conversation.session.state;
  }

  get encrypted(): boolean {
    return this.#transport.encrypted;
  }

  get server(): string {
    return this.#conversation.server;
  }

  /** TLS resumed a session from an earlier connection to this server (lib/pop3-client/tls-state.ts). */
  get tlsResumed(): boolean {
    return this.#transport.tlsResumed;
  }

  /** The mechanism the login used ('USER', 'APOP', 'PLAIN', 'XOAUTH2', ...). */
  get mechanism(): string | undefined {
    return this.#mechanism;
  }

  /**
   * The mechanism the login used, for a record that outlives the process: pass it back as
   * `preferredMechanism` next time. Same as `mechanism`.
   */
  get mechanismUsed(): string | undefined {
    return this.#mechanism;
  }

  get discardedBeforeTls(): number {
    return this.#discardedBeforeTls;
  }

  /**
   * Connects and logs in. With `auth: "auto"`, a server that closes the connection after refusing a
   * mechanism is connected to again and the next mechanism tried (lib/pop3/login-plan.ts says which and
   * how many); any other failure ends it. Each connection's client is closed before the next one opens.
   * The mechanism that worked is remembered for this host, port and user (mechanism-memory.ts) and tried
   * first next time, unless `preferredMechanism` names another.
   */
  static connectAndLogin(
    options: Pop3ClientOptions,
    credentials: Credentials,
    method: AuthMethod = 'auto',
  ): Promise<Pop3Client> {
    const { host, port } = resolveClientOptions(options);
    const where = { host, port, preferredMechanism: options.preferredMechanism };
    return loginOnNewConnections(() => Pop3Client.connect(options), where, credentials, method);
  }

  /**
   * Logs in, then re-reads CAPA (some servers, Gmail, show PIPELINING only after login), then turns on
   * UTF-8 mode when the server offers it (RFC 6856), before anything is listed or retrieved.
   * `plan` carries attempts over from an earlier connection (connectAndLogin).
   */
  async login(
    credentials: Credentials,
    method: AuthMethod = 'auto',
    plan: LoginPlan = new LoginPlan(credentials, method, {
      preferredMechanism: this.#options.preferredMechanism,
    }),
  ): Promise<void> {
    const session = this.#conversation.session;
    if (session.quitSent || session.state !== 'AUTHORIZATION') {
      const why = session.quitSent ? 'QUIT was sent' : `the session is already in the ${this.state} state`;
      throw new Pop3UsageError(`cannot log in: ${why}`);
    }
    // Checked for every mechanism; spaces are left to it (USER and APOP refuse them, SASL carries them).
    if (/[\r\n\0]/.test(credentials.username)) {
      throw new Pop3UsageError('the user name must not contain CR, LF or NUL');
    }
    const offer = {
      server: this.server,
      greeting: this.greeting,
      capabilities: this.capabilities,
      encrypted: this.encrypted,
      allowInsecureAuth: this.#options.allowInsecureAuth,
      xoauth2Form: this.#options.xoauth2Form,
      pipelining: this.#extensions.pipelines,
    };
    // The connection enters TRANSACTION itself, on the +OK that ends the login.
    this.#mechanism = await authenticate(this.#conversation, offer, credentials, plan);
    await this.#extensions.afterLogin();
  }

  /** Whether the server accepted UTF8 (RFC 6856): it then hands out messages with 8-bit headers as they are. */
  get utf8Mode(): boolean {
    return this.#extensions.utf8Mode;
  }

  async capa(): Promise<Capabilities> {
    return this.#extensions.refresh();
  }

  stat(): Promise<{ count: number; octets: number }> {
    return this.#value(Pop3Commands.stat());
  }

  /** The scan listing; at most `maxListingEntries` entries, `omitted` says how many more the server listed. */
  list(): Promise<Listing<ListEntry>>;
  list(msg: number): Promise<ListEntry>;
  list(msg?: number): Promise<Listing<ListEntry> | ListEntry> {
    return msg === undefined ? this.#value(Pop3Commands.list()) : this.#value(Pop3Commands.list(msg));
  }

  /** The unique-id listing; at most `maxListingEntries` entries, `omitted` says how many more were listed. */
  uidl(): Promise<Listing<UidlEntry>>;
  uidl(msg: number): Promise<UidlEntry>;
  uidl(msg?: number): Promise<Listing<UidlEntry> | UidlEntry> {
    return msg === undefined ? this.#value(Pop3Commands.uidl()) : this.#value(Pop3Commands.uidl(msg));
  }

  /** The message, unstuffed, as a stream. A -ERR, a dropped connection or an oversized body fail the stream. */
  retr(msg: number, options: { maxBytes?: number } = {}): Readable {
    return this.#stream(Pop3Commands.retr(msg), `message ${msg}`, options.maxBytes);
  }

  /** The header and the first `lines` body lines of a message, as a stream. */
  top(msg: number, lines: number): Readable {
    return this.#stream(Pop3Commands.top(msg, lines), `top of message ${msg}`, undefined);
  }

  async dele(msg: number): Promise<void> {
    this.#changedServerState = true;
    await this.#value(Pop3Commands.dele(msg));
  }

  async noop(): Promise<void> {
    await this.#value(Pop3Commands.noop());
  }

  async rset(): Promise<void> {
    await this.#value(Pop3Commands.rset());
  }

  last(): Promise<number> {
    return this.#value(Pop3Commands.last());
  }

  /**
   * Sends QUIT and closes. After a DELE, `confirmed` is true only when the server answered +OK, i.e. it
   * entered the UPDATE state and committed the deletions; a -ERR or a lost connection leaves them
   * uncommitted. `waitForReply: 'if-changed'`: a session that sent no DELE and retrieved nothing (no
   * RETR or TOP, which EXPIRE servers count at QUIT) has nothing to commit, so QUIT is sent (the server
   * ends the session cleanly and releases the maildrop lock) but its reply is not waited for, which saves
   * the last round trip of every poll that found nothing new, the empty ones above all; `confirmed` is
   * then true and `answered` false. @default 'always'
   */
  async quit({
    waitForReply = 'always',
  }: {
    waitForReply?: 'always' | 'if-changed';
  } = {}): Promise<QuitResult> {
    const command = Pop3Commands.quit();
    // Asked first: a refused QUIT must throw, not take the path below that does not wait for its reply.
    // The connection ends the session (UPDATE from TRANSACTION) as it accepts the QUIT.
    this.#conversation.session.assertAllowed(command);
    // Only when QUIT is written at once: a QUIT queued behind a reply would not leave before the close.
    const conversation = this.#conversation;
    const nothingToCommit = !this.#changedServerState;
    if (waitForReply === 'if-changed' && nothingToCommit && conversation.idle && !conversation.failure) {
      this.#conversation.send(command).catch(() => undefined);
      this.#conversation.close();
      return { confirmed: true, text: undefined, answered: false };
    }
    try {
      const reply = await this.#conversation.send(command);
      return { confirmed: true, text: reply.status.text };
    } catch (error) {
      if (error instanceof Pop3ServerError) return { confirmed: false, text: error.serverText };
      return { confirmed: false, text: undefined };
    } finally {
      this.#conversation.close();
    }
  }

  /** Drops the connection without QUIT: nothing marked for deletion is deleted (RFC 1939 §6). */
  abort(error?: Error): void {
    this.#conversation.fail(
      error ?? new Pop3ConnectionError(`connection to ${this.server} closed by the client`),
    );
  }

  /** The connection refuses a command the session state forbids (the promise rejects; nothing is sent). */
  async #value<T>(command: Pop3Command<T>): Promise<T> {
    return (await this.#conversation.send(command)).value;
  }

  #stream(command: Pop3Command<void>, describe: string, maxBytes: number | undefined): Readable {
    // Asked at the call, so a refused RETR throws here rather than failing a stream sent later.
    this.#conversation.session.assertAllowed(command);
    this.#changedServerState = true;
    const stream = new MessageStream({
      flow: this.#conversation.flow,
      maxBytes: Math.min(maxBytes ?? Number.POSITIVE_INFINITY, this.#options.maxMessageBytes),
      describe,
      server: this.server,
    });
    // The stream carries the outcome (data, end or error); the promise only mirrors it.
    const send = () => this.#conversation.send(command, stream).catch(() => undefined);
    // Behind the CAPA after login (and UTF8 if it turns it on), in call order; all in one write.
    this.#extensions.whenSettled(send);
    return stream;
  }
}
