/**
 * Every way of logging in, as pluggable entries: a name plus a sans-I/O exchange that says which command
 * to send next for each reply. USER/PASS and APOP (RFC 1939 §7) sit beside the SASL mechanisms (RFC 5034)
 * so that `auto` orders and falls back across all of them alike (lib/pop3/login-plan.ts).
 *
 * Adding a SASL mechanism is one entry in LOGIN_MECHANISMS: its credential kind, whether it puts the
 * secret itself on the wire, and how to create its exchange (usually `saslEntry`, which runs any
 * SaslMechanism from lib/pop3/sasl.ts). The order of the entries is the preference inside each group.
 */
import { apopDigest, isValidApopTimestamp } from './apop.ts';
import { type Pop3Command, Pop3Commands } from './commands.ts';
import type { Credentials } from './credentials.ts';
import { Pop3ProtocolError, Pop3SecurityError, Pop3UsageError } from './errors.ts';
import { MAX_COMMAND_OCTETS } from './limits.ts';
import { type Capabilities, type Greeting, NO_CAPABILITIES } from './parsers.ts';
import type { StatusLine } from './reply-decoder.ts';
import {
  createSaslMechanism,
  decodeChallenge,
  encodeResponse,
  type SaslMechanism,
  type SaslOptions,
} from './sasl.ts';

/** A SASL exchange longer than this is a server going in circles. */
const MAX_SASL_ROUND_TRIPS = 10;

/** What one connection offers, as read from its greeting and CAPA. */
export interface LoginOffer {
  readonly server: string;
  readonly greeting: Greeting;
  readonly capabilities: Capabilities;
  readonly encrypted: boolean;
  readonly allowInsecureAuth: boolean;
}

/**
 * One login, step by step, without I/O. The driver sends `start()`, then for every reply that is not
 * -ERR calls `onReply`: a command to send next, or 'done' (logged in). A -ERR ends the exchange (the
 * driver turns it into Pop3AuthenticationError). `onReply` throws on a reply it cannot answer; the driver
 * then sends `cancel()` when there is one.
 */
export interface LoginExchange {
  start(): Pop3Command<unknown>;
  onReply(status: StatusLine): Pop3Command<unknown> | 'done';
  /** What ends the exchange early ('*' for SASL, RFC 5034 §4), or undefined. */
  cancel(): Pop3Command<unknown> | undefined;
}

export interface LoginMechanismEntry {
  /** 'USER', 'APOP', 'PLAIN', ...: what `auth` names (upper-cased) and what the outcome reports. */
  readonly name: string;
  readonly credentialKind: Credentials['kind'];
  /** The password or token itself crosses the wire (base64 is not encryption): needs TLS or allowInsecureAuth. */
  readonly sendsSecret: boolean;
  /** Whether this server offers it; `auto` tries only what is offered, an explicit `auth` sends it anyway. */
  offered(offer: LoginOffer): boolean;
  /** Throws Pop3UsageError / Pop3SecurityError before anything is sent when it cannot be used. */
  exchange(credentials: Credentials, offer: LoginOffer): LoginExchange;
}

function requirePassword(name: string, credentials: Credentials) {
  if (credentials.kind !== 'password') throw new Pop3UsageError(`${name} needs a password, not a token`);
  return credentials;
}

const userPass: LoginMechanismEntry = {
  name: 'USER',
  credentialKind: 'password',
  sendsSecret: true,
  // RFC 1939 servers without CAPA take USER; with CAPA, USER must be listed (RFC 2449 §6.3).
  offered: ({ capabilities }) => capabilities.user || capabilities === NO_CAPABILITIES,
  exchange(credentials) {
    const { username, password } = requirePassword('USER/PASS', credentials);
    // Both lines are built (and checked) first: a password that cannot be sent must not leave USER behind.
    const user = Pop3Commands.user(username);
    const pass = Pop3Commands.pass(password);
    let passSent = false;
    return {
      start: () => user,
      onReply() {
        if (passSent) return 'done';
        passSent = true;
        return pass;
      },
      cancel: () => undefined,
    };
  },
};

const apop: LoginMechanismEntry = {
  name: 'APOP',
  credentialKind: 'password',
  sendsSecret: false,
  offered: ({ greeting }) =>
    greeting.apopTimestamp !== undefined && isValidApopTimestamp(greeting.apopTimestamp),
  exchange(credentials, offer) {
    const { username, password } = requirePassword('APOP', credentials);
    const timestamp = offer.greeting.apopTimestamp;
    if (timestamp === undefined || !isValidApopTimestamp(timestamp)) {
      throw new Pop3SecurityError(
        `${offer.server} offers no valid APOP timestamp in its greeting; APOP is not possible`,
        { server: offer.server },
      );
    }
    const command = Pop3Commands.apop(username, apopDigest(timestamp, password));
    return { start: () => command, onReply: () => 'done', cancel: () => undefined };
  },
};

/** Makes the client side of one SASL mechanism (lib/pop3/sasl.ts by default). */
export type SaslFactory = (credentials: Credentials, options: SaslOptions) => SaslMechanism;

/** Runs one SaslMechanism over AUTH (RFC 5034): initial response when it fits, then challenge by challenge. */
export function saslExchange(
  name: string,
  credentials: Credentials,
  server: string,
  create: SaslFactory = (forCredentials, options) => createSaslMechanism(name, forCredentials, options),
): LoginExchange {
  let mechanism: SaslMechanism = create(credentials, { initialResponse: true });
  let initial = mechanism.initialResponse();
  // RFC 5034 §4: an initial response that would make the AUTH line exceed 255 octets is sent after an
  // empty challenge instead (Microsoft 365's XOAUTH2 tokens always do).
  if (initial !== undefined && `AUTH ${name} ${encodeResponse(initial)}\r\n`.length > MAX_COMMAND_OCTETS) {
    mechanism = create(credentials, { initialResponse: false });
    initial = undefined;
  }
  const first = initial === undefined ? undefined : initial.length === 0 ? 'empty' : initial;
  let round = 0;
  return {
    start: () => Pop3Commands.auth(name, first),
    onReply(status) {
      if (status.kind !== '+') return 'done';
      if (round >= MAX_SASL_ROUND_TRIPS) {
        throw new Pop3ProtocolError(`${server} kept challenging after ${round} SASL rounds`, {
          server,
          command: 'AUTH',
        });
      }
      round++;
      return Pop3Commands.saslResponse(mechanism.respond(decodeChallenge(status.text)));
    },
    cancel: () => Pop3Commands.saslResponse('*'),
  };
}

/**
 * An entry for a SASL mechanism, offered when CAPA's SASL line lists it. `create` makes its client side;
 * by default the one lib/pop3/sasl.ts knows by `name`, so a new mechanism is this one call with its own
 * factory, e.g. `saslEntry('OAUTHBEARER', 'oauth2', true, (c, o) => new OAuthBearer(c, o))`.
 */
export function saslEntry(
  name: string,
  credentialKind: Credentials['kind'],
  sendsSecret: boolean,
  create?: SaslFactory,
): LoginMechanismEntry {
  return {
    name,
    credentialKind,
    sendsSecret,
    offered: ({ capabilities }) => capabilities.sasl.includes(name),
    exchange: (credentials, offer) => saslExchange(name, credentials, offer.server, create),
  };
}

/**
 * Every mechanism, by preference inside its group: over TLS the ones that send the secret come first
 * (most widely configured, and TLS protects them), then challenge-response; without TLS the other way
 * round (see orderFor in login-plan.ts).
 */
export const LOGIN_MECHANISMS: readonly LoginMechanismEntry[] = [
  saslEntry('XOAUTH2', 'oauth2', true),
  saslEntry('PLAIN', 'password', true),
  userPass,
  saslEntry('LOGIN', 'password', true),
  saslEntry('CRAM-MD5', 'password', false),
  apop,
];

export function findLoginMechanism(name: string): LoginMechanismEntry | undefined {
  const wanted = name.toUpperCase();
  return LOGIN_MECHANISMS.find((entry) => entry.name === wanted);
}
