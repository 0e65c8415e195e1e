/**
 * Everything the POP3 library throws is a Pop3Error. The subclasses tell the caller what to do next:
 * retry later (timeout, connection, [SYS/TEMP], [IN-USE]), fix the configuration (authentication,
 * security), or report a bug (usage, protocol).
 *
 * Messages name the server and the command KEYWORD only. A command's arguments never appear in a
 * message or a property, so a password or token cannot leak through an error, its log line or its stack.
 */
import { parseResponseCode, type ResponseCode, responseCodeIs } from './response-codes.ts';

export interface Pop3ErrorOptions {
  readonly cause?: unknown;
  /** "host:port" when known. */
  readonly server?: string;
  /** The command involved; anything after its keyword is dropped. */
  readonly command?: string;
}

/** 'slow': a reply kept coming, but slower than the client's minimum rate (a trickling server). */
export type TimeoutPhase = 'connect' | 'tls' | 'greeting' | 'idle' | 'slow' | 'deadline';

/** Base of everything the library throws. */
export class Pop3Error extends Error {
  readonly server?: string;
  /** Keyword only, e.g. "PASS", never its argument. */
  readonly command?: string;

  constructor(message: string, options: Pop3ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options.server !== undefined) this.server = options.server;
    const keyword = options.command === undefined ? undefined : commandKeyword(options.command);
    if (keyword !== undefined) this.command = keyword;
  }
}

/** The server answered -ERR. */
export class Pop3ServerError extends Pop3Error {
  /** Text after -ERR, with a leading [CODE] stripped. */
  readonly serverText: string;
  /** The RFC 2449 §8 / RFC 3206 response code, when the server sent one. */
  readonly responseCode: ResponseCode | undefined;
  /**
   * Seconds the server asks us to wait: from `[LOGIN-DELAY n]`, or filled in by the client from CAPA's
   * LOGIN-DELAY (RFC 2449 §6.5) when the code came without a number.
   */
  retryAfterSeconds: number | undefined;

  /** @param statusText everything after "-ERR " as the server sent it, response code included. */
  constructor(statusText: string, options: Pop3ErrorOptions = {}) {
    const { code, text } = parseResponseCode(statusText);
    super(describeServerError(code, text, options), options);
    this.serverText = text;
    this.responseCode = code;
    this.retryAfterSeconds = code?.seconds;
  }

  /** Hierarchy aware: hasCode('SYS') is true for [SYS/TEMP] and [SYS/PERM]. */
  hasCode(code: string): boolean {
    return responseCodeIs(this.responseCode, code);
  }
}

/** The server answered -ERR to USER, PASS, APOP or AUTH. */
export class Pop3AuthenticationError extends Pop3ServerError {}

/**
 * `auth: "auto"` tried every mechanism it could and each was refused: the message lists every attempt
 * with the server's answer. Response code and text are those of the last refusal.
 */
export class Pop3LoginRefusedError extends Pop3AuthenticationError {
  readonly attempts: readonly { readonly mechanism: string; readonly error: Pop3ServerError }[];

  constructor(
    attempts: readonly { readonly mechanism: string; readonly error: Pop3ServerError }[],
    how: {
      readonly closed?: boolean;
      readonly notTried?: readonly string[];
      readonly cap?: number | undefined;
      /** The last mechanism sent the secret and it was refused: the others would check the same one. */
      readonly secretRefused?: boolean;
    },
  ) {
    const last = attempts.at(-1);
    const code = last?.error.responseCode;
    super(`${code === undefined ? '' : `[${code.raw}] `}${last?.error.serverText ?? ''}`, {
      server: last?.error.server,
      command: last?.error.command,
    });
    this.attempts = attempts;
    const who = last?.error.server === undefined ? 'the server' : `server ${last.error.server}`;
    const tried = attempts
      .map(({ mechanism, error }) => {
        const answer = error.responseCode === undefined ? '' : `[${error.responseCode.raw}] `;
        return `${mechanism}: -ERR ${answer}${quoteForMessage(error.serverText, 80)}`;
      })
      .join('; ');
    const end = how.closed
      ? '; it then closed the connection after refusing the credentials, so no other mechanism was tried'
      : how.cap !== undefined
        ? `; stopped after ${how.cap} attempts so as not to lock the account`
        : how.secretRefused
          ? '; no other mechanism was tried: each would check the same credentials again, and ' +
            'repeated failed logins can lock the account'
          : '';
    const rest = how.notTried && how.notTried.length > 0 ? ` (not tried: ${how.notTried.join(', ')})` : '';
    const credentialsRefused =
      how.secretRefused === true || attempts.some(({ error }) => error.hasCode('AUTH'));
    const hint = credentialsRefused ? ' (the credentials were refused; check username and secret)' : '';
    this.message = `${who} refused every login mechanism tried: ${tried}${end}${rest}${hint}`;
  }
}

/** The server broke the protocol (malformed reply, unexpected bytes, a limit exceeded). */
export class Pop3ProtocolError extends Pop3Error {}

/** A step took too long. */
export class Pop3TimeoutError extends Pop3Error {
  readonly phase: TimeoutPhase;

  constructor(message: string, options: Pop3ErrorOptions & { readonly phase: TimeoutPhase }) {
    super(message, options);
    this.phase = options.phase;
  }
}

/** The socket was closed, reset or refused, or the name did not resolve. */
export class Pop3ConnectionError extends Pop3Error {}

/** TLS required but unavailable, insecure authentication refused, certificate rejected. */
export class Pop3SecurityError extends Pop3Error {}

/** A programming error found locally (bad argument, wrong state). Nothing was sent. */
export class Pop3UsageError extends Pop3Error {}

/** A message or reply grew past a configured limit. */
export class Pop3MessageTooLargeError extends Pop3Error {
  readonly limit: number;
  readonly seen: number;

  constructor(
    message: string,
    options: Pop3ErrorOptions & { readonly limit: number; readonly seen: number },
  ) {
    super(message, options);
    this.limit = options.limit;
    this.seen = options.seen;
  }
}

/** Longest piece of server text quoted in a message: enough to read, not enough to flood a log. */
const MAX_QUOTED_CHARS = 200;

/**
 * Server text made safe for a log line: control characters escaped (JSON style, with quotes) and
 * truncated, so a hostile server cannot forge log lines or flood them.
 */
export function quoteForMessage(text: string, maxChars = MAX_QUOTED_CHARS): string {
  const truncated = text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
  return JSON.stringify(truncated);
}

function commandKeyword(command: string): string | undefined {
  const keyword = command.trimStart().split(/\s/, 1)[0] ?? '';
  return keyword === '' ? undefined : keyword.toUpperCase();
}

/** What each well-known code means for the operator. */
const CODE_HINTS: ReadonlyArray<readonly [string, string]> = [
  ['IN-USE', 'the mailbox is locked by another session; retry later'],
  ['LOGIN-DELAY', 'logged in too soon after the previous login; retry after the LOGIN-DELAY interval'],
  ['SYS/TEMP', 'temporary server problem; retry later'],
  ['SYS/PERM', 'permanent server problem; retrying will not help'],
  ['AUTH', 'the credentials were refused; check username and secret'],
  ['UTF8', 'the server requires UTF-8 mode for this mailbox'],
];

function describeServerError(
  code: ResponseCode | undefined,
  text: string,
  options: Pop3ErrorOptions,
): string {
  const who = options.server === undefined ? 'the server' : `server ${options.server}`;
  const what = options.command === undefined ? 'a command' : (commandKeyword(options.command) ?? 'a command');
  const codePart = code === undefined ? '' : ` [${code.raw}]`;
  const hint = CODE_HINTS.find(([wanted]) => responseCodeIs(code, wanted))?.[1];
  const quoted = text === '' ? '(no text)' : quoteForMessage(text);
  return `${who} answered ${what} with -ERR${codePart}: ${quoted}${hint === undefined ? '' : ` (${hint})`}`;
}
