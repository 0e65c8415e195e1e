/**
 * Every POP3 command we send, paired with the reply it expects and the parser for that reply, so the
 * client never has to know which command is multi-line or how its answer reads.
 *
 * Encoding refuses, with a Pop3UsageError and before anything is sent:
 *   - CR, LF or NUL in an argument (it would end the command early and smuggle in another one);
 *   - empty arguments, and spaces where arguments are space-separated tokens (RFC 1939 §3). PASS is the
 *     exception: it has exactly one argument, so spaces in it belong to the password (RFC 1939 §7);
 *   - message numbers that are not positive safe integers;
 *   - a line longer than MAX_COMMAND_OCTETS (RFC 2449 §4). Client responses inside an AUTH exchange are
 *     not commands and are not limited (RFC 5034 §4); the AUTH command itself, initial response
 *     included, is.
 * Arguments are sent as UTF-8. Error messages name the argument, never its value.
 */

import type { BodyReader, Listing } from './body-lines.ts';
import { Pop3ProtocolError, Pop3UsageError, quoteForMessage } from './errors.ts';
import {
  APOP_DIGEST_HEX_LENGTH,
  DEFAULT_MAX_LISTING_ENTRIES,
  DEFAULT_MAX_LISTING_OCTETS,
  MAX_CAPA_OCTETS,
  MAX_COMMAND_OCTETS,
} from './limits.ts';
import {
  type Capabilities,
  capabilitiesReader,
  type ListEntry,
  listingReader,
  parseListLine,
  parseStat,
  parseUidlLine,
  type UidlEntry,
  uidlListingReader,
} from './parsers.ts';
import type { ExpectOptions, ReplyShape, StatusLine } from './reply-decoder.ts';
import type { SessionState } from './session-state.ts';

export interface Pop3Command<T = unknown> {
  /** 'RETR'. */
  readonly keyword: string;
  /** Exact bytes to send, CRLF included. */
  readonly line: Buffer;
  /** For logs and errors, secrets redacted: 'PASS ***', 'AUTH PLAIN ***'. */
  readonly display: string;
  readonly shape: ReplyShape;
  readonly allowedIn: readonly SessionState[];
  /** False for STLS, AUTH and its continuation lines, QUIT, USER, PASS, APOP. */
  readonly pipelinable: boolean;
  /**
   * The one command this one may follow without waiting for its reply, when the server pipelines: PASS
   * after USER. RFC 2449 §6.6 lets a client that saw PIPELINING send any commands together; the two
   * login lines save a round trip, and nothing else joins them.
   */
  readonly follows?: string;
  /**
   * What happens to a multi-line +OK body: 'collect' it through `readBody`, line by line as it arrives
   * (LIST, UIDL, CAPA), 'stream' it to the caller (RETR, TOP), or 'none' (single line).
   */
  readonly bodyMode: 'none' | 'collect' | 'stream';
  /** What to pass to `ReplyDecoder.expect` with `shape`: a label and, for collected bodies, a cap. */
  readonly expectOptions: ExpectOptions;
  /** For 'collect': a fresh reader for one body; its `end()` is the result. */
  readonly readBody?: (limits: BodyLimits) => BodyReader<T>;
  /**
   * Turns the completed +OK reply into the result: from the status line, or for 'collect' from the whole
   * body (read through `readBody` with the default limits; the client feeds `readBody` instead).
   */
  parse(status: StatusLine, body: Buffer | undefined): T;
}

export interface BodyLimits {
  /** Entries a LIST or UIDL listing keeps; lines past them are checked and dropped. */
  readonly maxListingEntries: number;
}

const DEFAULT_BODY_LIMITS: BodyLimits = { maxListingEntries: DEFAULT_MAX_LISTING_ENTRIES };

const AUTHORIZATION: readonly SessionState[] = ['AUTHORIZATION'];
const TRANSACTION: readonly SessionState[] = ['TRANSACTION'];
const AUTHORIZATION_OR_TRANSACTION: readonly SessionState[] = ['AUTHORIZATION', 'TRANSACTION'];
const REDACTED = '***';
// RFC 4422 §3.1: sasl-mech = 1*20(UPPER-ALPHA / DIGIT / "-" / "_").
const SASL_MECHANISM = /^[A-Z0-9_-]{1,20}$/;
const APOP_DIGEST = new RegExp(`^[0-9a-f]{${APOP_DIGEST_HEX_LENGTH}}$`);

interface CommandSpec<T> {
  readonly keyword: string;
  readonly args?: readonly string[];
  /** Overrides the display text when an argument is secret. */
  readonly display?: string;
  readonly shape?: ReplyShape;
  readonly allowedIn: readonly SessionState[];
  readonly pipelinable?: boolean;
  readonly follows?: string;
  readonly bodyMode?: 'none' | 'collect' | 'stream';
  /** False only for AUTH client responses (RFC 5034 §4). */
  readonly lengthLimited?: boolean;
  /** For 'collect': the most octets its body may have. */
  readonly maxBodyOctets?: number;
  readonly readBody?: (limits: BodyLimits) => BodyReader<T>;
  readonly parse?: (status: StatusLine) => T;
}

function command<T = void>(spec: CommandSpec<T>): Pop3Command<T> {
  const args = spec.args ?? [];
  const text = args.length === 0 ? spec.keyword : `${spec.keyword} ${args.join(' ')}`;
  const display = spec.display ?? text;
  const line = Buffer.from(`${text}\r\n`, 'utf8');
  if (spec.lengthLimited !== false && line.length > MAX_COMMAND_OCTETS) {
    throw new Pop3UsageError(
      `${spec.keyword} would be ${line.length} octets long; a command may be at most ${MAX_COMMAND_OCTETS} ` +
        'octets including CRLF (RFC 2449 §4)',
      { command: spec.keyword },
    );
  }
  const bodyMode = spec.bodyMode ?? 'none';
  const { readBody } = spec;
  const parseBody = (body: Buffer | undefined): T => {
    const reader = readBody!(DEFAULT_BODY_LIMITS);
    if (body) reader.push(body);
    return reader.end();
  };
  return {
    keyword: spec.keyword,
    line,
    display,
    shape: spec.shape ?? 'single',
    allowedIn: spec.allowedIn,
    pipelinable: spec.pipelinable ?? true,
    ...(spec.follows === undefined ? {} : { follows: spec.follows }),
    bodyMode,
    expectOptions:
      bodyMode === 'collect'
        ? { label: spec.keyword, maxBodyOctets: spec.maxBodyOctets ?? DEFAULT_MAX_LISTING_OCTETS }
        : { label: spec.keyword },
    ...(readBody ? { readBody } : {}),
    parse: readBody ? (_status, body) => parseBody(body) : (spec.parse ?? ((): T => undefined as T)),
  };
}

interface ArgumentRule {
  readonly keyword: string;
  readonly name: string;
  /** Whether the argument may contain spaces (only PASS). */
  readonly spacesAllowed?: boolean;
}

function argument(value: string, rule: ArgumentRule): string {
  const refuse = (why: string): never => {
    throw new Pop3UsageError(`${rule.keyword} ${rule.name} ${why}`, { command: rule.keyword });
  };
  if (typeof value !== 'string') refuse('must be a string');
  if (value === '') refuse('must not be empty');
  if (/[\r\n\0]/.test(value)) refuse('must not contain CR, LF or NUL');
  if (rule.spacesAllowed !== true && value.includes(' ')) refuse('must not contain spaces');
  return value;
}

function messageNumber(value: number, keyword: string): string {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Pop3UsageError(`${keyword} needs a message number that is a positive integer, got ${value}`, {
      command: keyword,
    });
  }
  return String(value);
}

function user(name: string): Pop3Command<void> {
  const arg = argument(name, { keyword: 'USER', name: 'name' });
  return command({ keyword: 'USER', args: [arg], allowedIn: AUTHORIZATION, pipelinable: false });
}

function pass(password: string): Pop3Command<void> {
  const arg = argument(password, { keyword: 'PASS', name: 'password', spacesAllowed: true });
  return command({
    keyword: 'PASS',
    args: [arg],
    display: `PASS ${REDACTED}`,
    allowedIn: AUTHORIZATION,
    pipelinable: false,
    follows: 'USER',
  });
}

function apop(name: string, digestHex: string): Pop3Command<void> {
  const arg = argument(name, { keyword: 'APOP', name: 'name' });
  if (typeof digestHex !== 'string' || !APOP_DIGEST.test(digestHex)) {
    throw new Pop3UsageError(
      `APOP digest must be ${APOP_DIGEST_HEX_LENGTH} lower-case hex characters (RFC 1939 §7)`,
      { command: 'APOP' },
    );
  }
  return command({
    keyword: 'APOP',
    args: [arg, digestHex],
    display: `APOP ${arg} ${REDACTED}`,
    allowedIn: AUTHORIZATION,
    pipelinable: false,
  });
}

function saslMechanism(mechanism: string): string {
  const upper = typeof mechanism === 'string' ? mechanism.toUpperCase() : '';
  if (!SASL_MECHANISM.test(upper)) {
    throw new Pop3UsageError('AUTH mechanism must be 1 to 20 of A-Z, 0-9, "-", "_" (RFC 4422 §3.1)', {
      command: 'AUTH',
    });
  }
  return upper;
}

/** An empty initial response is sent as "=" (RFC 5034 §4), to tell it apart from no response. */
function encodeInitialResponse(initialResponse: Buffer | 'empty'): string {
  return initialResponse === 'empty' || initialResponse.length === 0
    ? '='
    : initialResponse.toString('base64');
}

/**
 * Whether AUTH with this initial response fits in MAX_COMMAND_OCTETS. When it does not, RFC 5034 §4 has
 * the client send AUTH without it and answer the server's empty challenge with it instead.
 */
export function authInitialResponseFits(mechanism: string, initialResponse: Buffer | 'empty'): boolean {
  const length = `AUTH ${saslMechanism(mechanism)} ${encodeInitialResponse(initialResponse)}\r\n`.length;
  return length <= MAX_COMMAND_OCTETS;
}

/**
 * `beyondLineLimit`: send the initial response even past 255 octets. Only for a server known to take it
 * (Gmail's XOAUTH2, whose tokens never fit and which wants the one-step form).
 */
function auth(
  mechanism: string,
  initialResponse?: Buffer | 'empty',
  options: { readonly beyondLineLimit?: boolean } = {},
): Pop3Command<void> {
  const name = saslMechanism(mechanism);
  const args = initialResponse === undefined ? [name] : [name, encodeInitialResponse(initialResponse)];
  const beyond = options.beyondLineLimit === true;
  if (initialResponse !== undefined && !beyond && !authInitialResponseFits(name, initialResponse)) {
    throw new Pop3UsageError(
      `AUTH ${name} with this initial response exceeds ${MAX_COMMAND_OCTETS} octets; send AUTH ${name} ` +
        'without it and answer the empty challenge instead (RFC 5034 §4)',
      { command: 'AUTH' },
    );
  }
  return command({
    keyword: 'AUTH',
    args,
    display: initialResponse === undefined ? `AUTH ${name}` : `AUTH ${name} ${REDACTED}`,
    ...(beyond ? { lengthLimited: false } : {}),
    shape: 'sasl',
    allowedIn: AUTHORIZATION,
    pipelinable: false,
  });
}

/** One client line in an AUTH exchange: base64 (an empty buffer gives an empty line), or '*' to cancel. */
function saslResponse(data: Buffer | '*'): Pop3Command<void> {
  const cancel = data === '*';
  const line = cancel ? '*' : data.toString('base64');
  const built = command<void>({
    keyword: 'AUTH',
    display: cancel ? 'AUTH (cancel: *)' : `AUTH (response ${REDACTED})`,
    shape: 'sasl',
    allowedIn: AUTHORIZATION,
    pipelinable: false,
    lengthLimited: false,
  });
  return { ...built, line: Buffer.from(`${line}\r\n`, 'latin1') };
}

function list(): Pop3Command<Listing<ListEntry>>;
function list(msg: number): Pop3Command<ListEntry>;
function list(msg?: number): Pop3Command<Listing<ListEntry>> | Pop3Command<ListEntry> {
  if (msg === undefined) {
    return command({
      keyword: 'LIST',
      shape: 'multiline',
      bodyMode: 'collect',
      allowedIn: TRANSACTION,
      readBody: (limits) => listingReader(limits.maxListingEntries),
    });
  }
  return command({
    keyword: 'LIST',
    args: [messageNumber(msg, 'LIST')],
    allowedIn: TRANSACTION,
    parse: (status) => parseListLine(status.text),
  });
}

function uidl(): Pop3Command<Listing<UidlEntry>>;
function uidl(msg: number): Pop3Command<UidlEntry>;
function uidl(msg?: number): Pop3Command<Listing<UidlEntry>> | Pop3Command<UidlEntry> {
  if (msg === undefined) {
    return command({
      keyword: 'UIDL',
      shape: 'multiline',
      bodyMode: 'collect',
      allowedIn: TRANSACTION,
      readBody: (limits) => uidlListingReader(limits.maxListingEntries),
    });
  }
  return command({
    keyword: 'UIDL',
    args: [messageNumber(msg, 'UIDL')],
    allowedIn: TRANSACTION,
    parse: (status) => parseUidlLine(status.text),
  });
}

function top(msg: number, lines: number): Pop3Command<void> {
  if (!Number.isSafeInteger(lines) || lines < 0) {
    throw new Pop3UsageError(`TOP needs a line count that is a non-negative integer, got ${lines}`, {
      command: 'TOP',
    });
  }
  return command({
    keyword: 'TOP',
    args: [messageNumber(msg, 'TOP'), String(lines)],
    shape: 'multiline',
    bodyMode: 'stream',
    allowedIn: TRANSACTION,
  });
}

/** "+OK nn": the highest message number accessed (RFC 1460 §3; dropped by RFC 1939, still served). */
function parseLast(status: StatusLine): number {
  const digits = /^\s*(\d+)/.exec(status.text)?.[1];
  const value = digits === undefined ? Number.NaN : Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new Pop3ProtocolError(`server answered LAST without a number: ${quoteForMessage(status.text, 80)}`);
  }
  return value;
}

export const Pop3Commands = {
  user,
  pass,
  apop,
  auth,
  saslResponse,
  stls: (): Pop3Command<void> =>
    command({ keyword: 'STLS', shape: 'stls', allowedIn: AUTHORIZATION, pipelinable: false }),
  capa: (): Pop3Command<Capabilities> =>
    command({
      keyword: 'CAPA',
      shape: 'multiline',
      bodyMode: 'collect',
      allowedIn: AUTHORIZATION_OR_TRANSACTION,
      maxBodyOctets: MAX_CAPA_OCTETS,
      readBody: () => capabilitiesReader(),
    }),
  stat: (): Pop3Command<{ count: number; octets: number }> =>
    command({ keyword: 'STAT', allowedIn: TRANSACTION, parse: (status) => parseStat(status.text) }),
  list,
  uidl,
  retr: (msg: number): Pop3Command<void> =>
    command({
      keyword: 'RETR',
      args: [messageNumber(msg, 'RETR')],
      shape: 'multiline',
      bodyMode: 'stream',
      allowedIn: TRANSACTION,
    }),
  top,
  dele: (msg: number): Pop3Command<void> =>
    command({ keyword: 'DELE', args: [messageNumber(msg, 'DELE')], allowedIn: TRANSACTION }),
  noop: (): Pop3Command<void> => command({ keyword: 'NOOP', allowedIn: TRANSACTION }),
  rset: (): Pop3Command<void> => command({ keyword: 'RSET', allowedIn: TRANSACTION }),
  last: (): Pop3Command<number> => command({ keyword: 'LAST', allowedIn: TRANSACTION, parse: parseLast }),
  /**
   * RFC 6856 §2: UTF-8 mode, sent after login when CAPA lists UTF8 (this client does so before any LIST
   * or RETR). A server that refuses it with -ERR simply stays in its legacy mode.
   */
  utf8: (): Pop3Command<void> =>
    command({ keyword: 'UTF8', allowedIn: AUTHORIZATION_OR_TRANSACTION, pipelinable: false }),
  quit: (): Pop3Command<void> =>
    command({ keyword: 'QUIT', allowedIn: AUTHORIZATION_OR_TRANSACTION, pipelinable: false }),
};
