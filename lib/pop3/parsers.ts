/**
 * Parsers for the text of POP3 replies: greeting, STAT, LIST, UIDL, CAPA. Each rejects what the RFCs do
 * not allow with a Pop3ProtocolError that names the reply and the line, rather than guessing: a wrong
 * message number or unique-id here could delete the wrong message or store one twice.
 */
import { type BodyReader, LinesReader, type Listing, ListingReader } from './body-lines.ts';
import { Pop3ProtocolError, quoteForMessage } from './errors.ts';
import type { StatusLine } from './reply-decoder.ts';

export interface Greeting {
  readonly text: string;
  /** The APOP challenge, '<...@...>', only when the greeting holds exactly one msg-id shaped token. */
  readonly apopTimestamp?: string;
}

export interface ListEntry {
  readonly msg: number;
  readonly octets: number;
}

export interface UidlEntry {
  readonly msg: number;
  readonly uidl: string;
}

export interface Capabilities {
  /** Capability keyword, upper-cased, to its arguments. */
  readonly raw: ReadonlyMap<string, readonly string[]>;
  /** Case-insensitive. */
  has(name: string): boolean;
  readonly pipelining: boolean;
  readonly stls: boolean;
  readonly user: boolean;
  readonly top: boolean;
  readonly uidl: boolean;
  readonly respCodes: boolean;
  readonly authRespCode: boolean;
  readonly utf8: boolean;
  /** SASL mechanisms, upper-cased. */
  readonly sasl: readonly string[];
  /** Days the server keeps retrieved messages; 0 means it deletes them itself (RFC 2449 §6.7). */
  readonly expire: number | 'NEVER' | undefined;
  /** Minimum seconds between logins (RFC 2449 §6.5). */
  readonly loginDelay: number | undefined;
  readonly implementation: string | undefined;
}

// msg-id = "<" id-left "@" id-right ">" (RFC 5322 §3.6.4, the successor of the RFC 822 grammar that
// RFC 1939 §7 points to), without the obsolete forms: dot-atom-text on the left, dot-atom-text or a
// no-fold-literal on the right. Anything else (spaces, quotes, control or 8-bit octets, a '>' inside) is
// not a timestamp: a lax match would let a hostile server choose APOP challenges (CVE-2007-1558).
const ATEXT = "[A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~]";
const DOT_ATOM_TEXT = `${ATEXT}+(?:\\.${ATEXT}+)*`;
const NO_FOLD_LITERAL = '\\[[\\x21-\\x5A\\x5E-\\x7E]*\\]';
const MSG_ID = new RegExp(`^<${DOT_ATOM_TEXT}@(?:${DOT_ATOM_TEXT}|${NO_FOLD_LITERAL})>$`);

/**
 * The greeting's text and APOP timestamp (RFC 1939 §7). The timestamp is taken only when the text has
 * exactly one '<' and one '>', in that order, around a valid msg-id: with several candidates there is
 * no telling which one the server means.
 */
export function parseGreeting(status: StatusLine): Greeting {
  const text = status.text;
  const open = text.indexOf('<');
  const close = text.indexOf('>');
  const single = open !== -1 && open === text.lastIndexOf('<') && close === text.lastIndexOf('>');
  if (single && close > open) {
    const candidate = text.slice(open, close + 1);
    if (MSG_ID.test(candidate)) return { text, apopTimestamp: candidate };
  }
  return { text };
}

// "nn mm" with anything after the second number ignored (RFC 1939 §5: STAT and LIST may carry more).
const TWO_NUMBERS = /^[ \t]*(\d+)[ \t]+(\d+)(?:[ \t].*)?$/s;
// "nn unique-id": exactly two tokens; extra spaces around them tolerated.
const NUMBER_AND_UIDL = /^[ \t]*(\d+)[ \t]+(\S+)[ \t]*$/s;

/** "+OK nn mm": message count and maildrop size (RFC 1939 §5). */
export function parseStat(text: string): { count: number; octets: number } {
  const match = TWO_NUMBERS.exec(text);
  if (match === null) throw malformed('STAT', `the +OK text ${quoteForMessage(text)}`, 'nn mm');
  return { count: toNumber(match[1]!, 'STAT', 'count'), octets: toNumber(match[2]!, 'STAT', 'size') };
}

/** One scan listing, "msg octets", from LIST n's status text or a LIST body line. */
export function parseListLine(line: string, where = 'the LIST reply'): ListEntry {
  const match = TWO_NUMBERS.exec(line);
  if (match === null) throw malformed('LIST', `${where} ${quoteForMessage(line)}`, 'msg octets');
  return {
    msg: toMessageNumber(match[1]!, 'LIST', where),
    octets: toNumber(match[2]!, 'LIST', 'size'),
  };
}

/** Reads the body of LIST without argument as it arrives, keeping at most `maxEntries` entries. */
export function listingReader(maxEntries?: number): ListingReader<ListEntry> {
  return new ListingReader('LIST', parseListLine, maxEntries);
}

/** The whole body of LIST without argument. */
export function parseListing(body: Buffer): Listing<ListEntry> {
  return readWhole(listingReader(), body);
}

/**
 * One unique-id listing, "msg unique-id", from UIDL n's status text or a UIDL body line. RFC 1939 §7 asks
 * for 1 to 70 characters in 0x21-0x7E, but a longer or 8-bit unique-id is accepted rather than failing the
 * whole mailbox: the object key stores such an id by its SHA-256 (lib/adapters/object-key.ts). The line
 * limit (MAX_LISTING_LINE_OCTETS) still bounds it.
 */
export function parseUidlLine(line: string, where = 'the UIDL reply'): UidlEntry {
  const match = NUMBER_AND_UIDL.exec(line);
  if (match === null) throw malformed('UIDL', `${where} ${quoteForMessage(line)}`, 'msg unique-id');
  return { msg: toMessageNumber(match[1]!, 'UIDL', where), uidl: match[2]! };
}

/** Reads the body of UIDL without argument as it arrives, keeping at most `maxEntries` entries. */
export function uidlListingReader(maxEntries?: number): ListingReader<UidlEntry> {
  return new ListingReader('UIDL', parseUidlLine, maxEntries);
}

/** The whole body of UIDL without argument. */
export function parseUidlListing(body: Buffer): Listing<UidlEntry> {
  return readWhole(uidlListingReader(), body);
}

/** Reads a CAPA body as it arrives; `end()` gives the capabilities. */
export function capabilitiesReader(): BodyReader<Capabilities> {
  const lines = new LinesReader('CAPA', 'utf8');
  return { push: (chunk) => lines.push(chunk), end: () => capabilitiesOf(lines.end()) };
}

/** The body of a CAPA reply (RFC 2449 §5): one capability per line, keyword first. */
export function parseCapabilities(body: Buffer): Capabilities {
  return readWhole(capabilitiesReader(), body);
}

function readWhole<T>(reader: BodyReader<T>, body: Buffer): T {
  reader.push(body);
  return reader.end();
}

function capabilitiesOf(lines: readonly string[]): Capabilities {
  const raw = new Map<string, string[]>();
  lines.forEach((line) => {
    const words = line.trim().split(/[ \t]+/);
    const keyword = words[0]?.toUpperCase() ?? '';
    if (keyword === '') return; // a blank line carries no capability; nothing to misread
    raw.set(keyword, [...(raw.get(keyword) ?? []), ...words.slice(1)]);
  });
  return capabilitiesFrom(raw);
}

/** For servers that answer CAPA with -ERR (RFC 1939-only servers): nothing is known to be supported. */
export const NO_CAPABILITIES: Capabilities = capabilitiesFrom(new Map());

function capabilitiesFrom(raw: ReadonlyMap<string, readonly string[]>): Capabilities {
  const has = (name: string): boolean => raw.has(name.toUpperCase());
  const firstArg = (name: string): string | undefined => raw.get(name)?.[0];
  const expireArg = firstArg('EXPIRE');
  const loginDelayArg = firstArg('LOGIN-DELAY');
  return Object.freeze({
    raw,
    has,
    pipelining: has('PIPELINING'),
    stls: has('STLS'),
    user: has('USER'),
    top: has('TOP'),
    uidl: has('UIDL'),
    respCodes: has('RESP-CODES'),
    authRespCode: has('AUTH-RESP-CODE'),
    utf8: has('UTF8'),
    sasl: [...new Set((raw.get('SASL') ?? []).map((mechanism) => mechanism.toUpperCase()))],
    // "EXPIRE 0", "EXPIRE 30 USER", "EXPIRE NEVER": the USER tag only says the value is per user.
    expire:
      expireArg?.toUpperCase() === 'NEVER'
        ? 'NEVER'
        : /^\d+$/.test(expireArg ?? '')
          ? Number(expireArg)
          : undefined,
    loginDelay: /^\d+$/.test(loginDelayArg ?? '') ? Number(loginDelayArg) : undefined,
    implementation: raw.has('IMPLEMENTATION') ? raw.get('IMPLEMENTATION')!.join(' ') : undefined,
  });
}

function toNumber(digits: string, keyword: string, what: string): number {
  const value = Number(digits);
  if (!Number.isSafeInteger(value)) {
    throw new Pop3ProtocolError(`server sent a ${keyword} ${what} too large to handle exactly: ${digits}`);
  }
  return value;
}

function toMessageNumber(digits: string, keyword: string, where: string): number {
  const value = toNumber(digits, keyword, 'message number');
  if (value < 1) throw new Pop3ProtocolError(`server sent message number 0 in ${where} (numbers start at 1)`);
  return value;
}

function malformed(keyword: string, what: string, expected: string): Pop3ProtocolError {
  return new Pop3ProtocolError(`server sent a malformed ${keyword} reply: ${what} is not "${expected}"`);
}
