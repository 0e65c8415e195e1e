/**
 * Every way of logging in, as pluggable entries: a name plus a sans-I/O exchange that says which command
 * to send next for each reply. USER/PASS and APOP (RFC 1939 §7) sit beside the SASL mechanisms (RFC 5034)
 * so that `auto` orders and falls back across all of them alike (lib/pop3/login-plan.ts).
 *
 * Adding a SASL mechanism is one entry in LOGIN_MECHANISMS: its credential kind, whether it puts the
 * secret itself on the wire, and how to create its exchange (usually `saslEntry`, which runs any
 * SaslMechanism from lib/pop3/sasl.ts). The order of the entries is the preference inside each group.
 *
 * Token credentials log in with XOAUTH2 where it is offered, else OAUTHBEARER (RFC 7628): a token the
 * server refused in one is refused in the other, so `auto` never tries both. XOAUTH2 comes in two forms
 * (below); its exchange offers the other form once when the server refused the form, not the token.
 */
import { apopDigest, isValidApopTimestamp } from './apop.ts';
import { type Pop3Command, Pop3Commands } from './commands.ts';
import type { Credentials, XOAuth2Form } from './credentials.ts';
import { Pop3ProtocolError, Pop3SecurityError, type Pop3ServerError, Pop3UsageError } from './errors.ts';
import { MAX_COMMAND_OCTETS } from './limits.ts';
import { type Capabilities, type Greeting, NO_CAPABILITIES } from './parsers.ts';
import type { StatusLine } from './reply-decoder.ts';
import {
  createSaslMechanism,
  decodeChallenge,
  encodeResponse,
  mayTryOtherForm,
  type SaslMechanism,
  type SaslOptions,
  xoauth2Attempts,
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
  /** The XOAUTH2 form the provider needs (its profile); undefined: by the AUTH line's length. */
  readonly xoauth2Form?: XOAuth2Form | undefined;
  /** CAPA listed PIPELINING and the client may pipeline: an exchange may send its `pipelined` lines at once. */
  readonly pipelining?: boolean;
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
  /**
   * After the server answered -ERR: the same mechanism once more in another form, when the refusal was
   * about the form and not the secret (XOAUTH2's one-step and two-step); undefined otherwise. The plan
   * counts it as an attempt of its own (lib/pop3/login-plan.ts).
   */
  otherForm?(refusal: Pop3ServerError): LoginExchange | undefined;
  /**
   * Whether the secret (or a digest of it) has left in this exchange so far. A refusal before that (USER
   * refused before PASS, AUTH refused before any response) cannot be the server checking the credentials,
   * so the plan does not count it against them. @default true: assume checked
   */
  secretSent?(): boolean;
  /**
   * Every command of the exchange, when they may all go at once to a server that pipelines (USER and
   * PASS). The driver then sends them together and passes each +OK to `onReply` in order; the first -ERR
   * ends the exchange. Undefined when each command depends on the previous reply (SASL).
   */
  pipelined?(): readonly Pop3Command<unknown>[];
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
    // True once USER was accepted and PASS went out: only then can a refusal be the password's check.
    let passSent = false;
    return {
      start: () => user,
      pipelined: () => [user, pass],
      onReply() {
        if (passSent) return 'done';
        passSent = true;
        return pass;
      },
      cancel: () => undefined,
      secretSent: () => passSent,
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
  return mechanismExchange(name, mechanism, server);
}

/**
 * AUTH with the mechanism's initial response (if any), then one response per challenge until the server
 * answers +OK. `beyondLineLimit`: the initial response goes on the AUTH line even past 255 octets, for a
 * provider known to take it (Gmail's XOAUTH2).
 */
function mechanismExchange(
  name: string,
  mechanism: SaslMechanism,
  server: string,
  beyondLineLimit = false,
): LoginExchange {
  const initial = mechanism.initialResponse();
  const first = initial === undefined ? undefined : initial.length === 0 ? 'empty' : initial;
  let round = 0;
  return {
    start: () => Pop3Commands.auth(name, first, { beyondLineLimit }),
    // An initial response carries the secret (PLAIN, XOAUTH2 one-step); otherwise the first response does.
    secretSent: () => (first !== undefined && first !== 'empty') || round > 0,
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
 * XOAUTH2 in the form the provider needs (offer.xoauth2Form, from the provider profile), else
 * one-step when it fits the 255-octet AUTH line and two-step when not. A -ERR without an error challenge
 * means the server refused the form before it looked at the token: the other form is offered once. After
 * an error challenge (the token was looked at and refused) or `[AUTH]`, it is not: a second try would only
 * count one more failed login against the account.
 */
const xoauth2: LoginMechanismEntry = {
  name: 'XOAUTH2',
  credentialKind: 'oauth2',
  sendsSecret: true,
  offered: ({ capabilities }) => capabilities.sasl.includes('XOAUTH2'),
  exchange(credentials, offer) {
    if (credentials.kind !== 'oauth2') {
      throw new Pop3UsageError(
        'SASL XOAUTH2 needs an OAuth2 access token, but the credentials hold a password',
      );
    }
    const oneStep = createSaslMechanism('XOAUTH2', credentials, { initialResponse: true }).initialResponse();
    const fits =
      oneStep === undefined || `AUTH XOAUTH2 ${encodeResponse(oneStep)}\r\n`.length <= MAX_COMMAND_OCTETS;
    const [first, other] = xoauth2Attempts(offer.xoauth2Form, fits);
    const inForm = (form: XOAuth2Form, then: XOAuth2Form | undefined): LoginExchange => {
      const mechanism = createSaslMechanism('XOAUTH2', credentials, { initialResponse: form === 'one-step' });
      return {
        ...mechanismExchange('XOAUTH2', mechanism, offer.server, !fits),
        otherForm: (refusal) =>
          then !== undefined && !refusal.hasCode('AUTH') && mayTryOtherForm(mechanism)
            ? inForm(then, undefined)
            : undefined,
      };
    };
    return inForm(first, other);
  },
};

/** OAUTHBEARER (RFC 7628): for servers that offer it and not XOAUTH2. */
const oauthBearer: LoginMechanismEntry = {
  ...saslEntry('OAUTHBEARER', 'oauth2', true),
  offered: ({ capabilities }) =>
    capabilities.sasl.includes('OAUTHBEARER') && !capabilities.sasl.includes('XOAUTH2'),
};

/**
 * Every mechanism, by preference inside its group: over TLS the ones that send the secret come first
 * (most widely configured, and TLS protects them), then challenge-response; without TLS the other way
 * round (see orderFor in login-plan.ts).
 */
export const LOGIN_MECHANISMS: readonly LoginMechanismEntry[] = [
  xoauth2,
  oauthBearer,
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
