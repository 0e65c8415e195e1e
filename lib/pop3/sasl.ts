/**
 * SASL for POP3 AUTH (RFC 5034), without I/O: the client sends AUTH, feeds each decoded server challenge
 * to `respond`, and sends back what it returns. Mechanisms: PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), XOAUTH2 (Google / Microsoft OAuth 2.0 profile) and
 * OAUTHBEARER (RFC 7628).
 *
 * No error message here contains a user name, password or token, nor a challenge (a challenge can echo
 * what the client sent).
 */
import { createHmac } from 'node:crypto';
import type { Credentials, XOAuth2Form } from './credentials.ts';
import { Pop3ProtocolError, Pop3UsageError } from './errors.ts';
import { MAX_SASL_MECHANISM_OCTETS } from './limits.ts';

export interface SaslMechanism {
  /** 'PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2' */
  readonly name: string;
  /** Initial response to send with AUTH (undefined = none, Buffer.alloc(0) = empty, sent as '='). */
  initialResponse(): Buffer | undefined;
  /** Answer to a server challenge (already base64-decoded). Throws Pop3ProtocolError on a challenge it cannot answer. */
  respond(challenge: Buffer): Buffer;
  /**
   * Token mechanisms: whether the server answered the token with an error challenge, i.e. it evaluated the
   * token and refused it (as opposed to refusing the command form before seeing a token).
   */
  readonly tokenRefused?: boolean;
}

export interface SaslOptions {
  /**
   * Send the first client message with AUTH (true, the default) or after the server's empty challenge
   * (false). Only PLAIN and XOAUTH2 have a first client message. The caller turns this off when AUTH with
   * the initial response would exceed the 255-octet command line (RFC 5034 §4).
   */
  readonly initialResponse?: boolean;
}

export const SUPPORTED_SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'XOAUTH2', 'OAUTHBEARER'] as const;

type PasswordCredentials = Extract<Credentials, { kind: 'password' }>;
type OAuth2Credentials = Extract<Credentials, { kind: 'oauth2' }>;

const utf8 = (text: string) => Buffer.from(text, 'utf8');

function unexpectedChallenge(mechanism: string, step: number): Pop3ProtocolError {
  return new Pop3ProtocolError(
    `unexpected SASL ${mechanism} challenge (step ${step + 1}); the exchange is over`,
    {
      command: 'AUTH',
    },
  );
}

/** A mechanism whose whole exchange is a fixed list of client messages, one per server challenge. */
class ScriptedMechanism implements SaslMechanism {
  readonly name: string;
  readonly #initial: Buffer | undefined;
  readonly #answers: readonly Buffer[];
  #step = 0;

  constructor(name: string, messages: readonly Buffer[], sendFirstWithAuth: boolean) {
    this.name = name;
    this.#initial = sendFirstWithAuth ? messages[0] : undefined;
    this.#answers = sendFirstWithAuth ? messages.slice(1) : messages;
  }

  initialResponse(): Buffer | undefined {
    return this.#initial;
  }

  respond(_challenge: Buffer): Buffer {
    // The prompts ("Username:", "Password:") vary between servers, so LOGIN answers by position.
    const answer = this.#answers[this.#step];
    if (answer === undefined) throw unexpectedChallenge(this.name, this.#step);
    this.#step++;
    return answer;
  }
}

/** RFC 2195: the client answers the one challenge with `user SP hex(HMAC-MD5(password, challenge))`. */
class CramMd5Mechanism implements SaslMechanism {
  readonly name = 'CRAM-MD5';
  readonly #credentials: PasswordCredentials;
  #answered = false;

  constructor(credentials: PasswordCredentials) {
    this.#credentials = credentials;
  }

  initialResponse(): undefined {
    return undefined;
  }

  respond(challenge: Buffer): Buffer {
    if (this.#answered) throw unexpectedChallenge(this.name, 1);
    if (challenge.length === 0) {
      throw new Pop3ProtocolError('SASL CRAM-MD5 challenge is empty', { command: 'AUTH' });
    }
    this.#answered = true;
    const digest = createHmac('md5', utf8(this.#credentials.password)).update(challenge).digest('hex');
    return utf8(`${this.#credentials.username} ${digest}`);
  }
}

/**
 * XOAUTH2: one client message, `user=<u>^Aauth=Bearer <token>^A^A`. A rejected token comes back as a
 * challenge holding a JSON error document; the client must answer it with an empty line, and the server
 * then sends -ERR (that -ERR is what the caller reports).
 */
class XOAuth2Mechanism implements SaslMechanism {
  readonly name = 'XOAUTH2';
  readonly #message: Buffer;
  readonly #sendFirstWithAuth: boolean;
  #tokenSent: boolean;
  #errorAcknowledged = false;

  constructor(credentials: OAuth2Credentials, sendFirstWithAuth: boolean) {
    this.#message = utf8(`user=${credentials.username}\x01auth=Bearer ${credentials.accessToken}\x01\x01`);
    this.#sendFirstWithAuth = sendFirstWithAuth;
    this.#tokenSent = sendFirstWithAuth;
  }

  initialResponse(): Buffer | undefined {
    return this.#sendFirstWithAuth ? this.#message : undefined;
  }

  get tokenRefused(): boolean {
    return this.#errorAcknowledged;
  }

  respond(_challenge: Buffer): Buffer {
    if (!this.#tokenSent) {
      // Two-step form (Microsoft 365): AUTH XOAUTH2, an empty '+ ', then the token.
      this.#tokenSent = true;
      return this.#message;
    }
    if (this.#errorAcknowledged) throw unexpectedChallenge(this.name, 2);
    this.#errorAcknowledged = true;
    return Buffer.alloc(0);
  }
}

/**
 * OAUTHBEARER (RFC 7628 §3.1): `n,a=<user>,^Aauth=Bearer <token>^A^A`, the GS2 header naming the user as
 * authorization identity (`,` and `=` escaped as =2C and =3D). A refused token comes back as a challenge
 * with a JSON error; the client answers it with a lone ^A (§3.2.3) and the server then sends -ERR.
 */
class OAuthBearerMechanism implements SaslMechanism {
  readonly name = 'OAUTHBEARER';
  readonly #message: Buffer;
  readonly #sendFirstWithAuth: boolean;
  #tokenSent: boolean;
  #errorAcknowledged = false;

  constructor(credentials: OAuth2Credentials, sendFirstWithAuth: boolean) {
    const user = credentials.username.replaceAll('=', '=3D').replaceAll(',', '=2C');
    this.#message = utf8(`n,a=${user},\x01auth=Bearer ${credentials.accessToken}\x01\x01`);
    this.#sendFirstWithAuth = sendFirstWithAuth;
    this.#tokenSent = sendFirstWithAuth;
  }

  get tokenRefused(): boolean {
    return this.#errorAcknowledged;
  }

  initialResponse(): Buffer | undefined {
    return this.#sendFirstWithAuth ? this.#message : undefined;
  }

  respond(_challenge: Buffer): Buffer {
    if (!this.#tokenSent) {
      this.#tokenSent = true;
      return this.#message;
    }
    if (this.#errorAcknowledged) throw unexpectedChallenge(this.name, 2);
    this.#errorAcknowledged = true;
    return Buffer.from([0x01]);
  }
}

/**
 * The XOAUTH2 forms to try, in order: the one the provider needs (`form`, from the mailbox's provider
 * profile, lib/config/providers.ts), else
 * one-step when AUTH with the initial response fits the 255-octet line and two-step when not; then, once,
 * the other form.
 */
export function xoauth2Attempts(
  form: XOAuth2Form | undefined,
  oneStepFitsLine: boolean,
): readonly [XOAuth2Form, XOAuth2Form] {
  const first: XOAuth2Form = form ?? (oneStepFitsLine ? 'one-step' : 'two-step');
  return first === 'one-step' ? ['one-step', 'two-step'] : ['two-step', 'one-step'];
}

/**
 * After a failed token login: may the other form be tried? Only when the server refused without an error
 * challenge, i.e. it did not evaluate the token (a server that wants the other form answers -ERR at once).
 * A token the server saw and refused is refused in every form; trying again would only count a second
 * failed login against the account.
 */
export function mayTryOtherForm(mechanism: SaslMechanism): boolean {
  return mechanism.tokenRefused === false;
}

function requirePassword(mechanism: string, credentials: Credentials): PasswordCredentials {
  if (credentials.kind !== 'password') {
    throw new Pop3UsageError(`SASL ${mechanism} needs a password, but the credentials hold an OAuth2 token`);
  }
  return credentials;
}

function forbid(mechanism: string, field: string, value: string, forbidden: RegExp): void {
  if (forbidden.test(value)) {
    throw new Pop3UsageError(
      `SASL ${mechanism} cannot carry this ${field}: it contains a forbidden character`,
    );
  }
}

export function createSaslMechanism(
  name: string,
  credentials: Credentials,
  options: SaslOptions = {},
): SaslMechanism {
  const mechanism = name.toUpperCase();
  const sendFirstWithAuth = options.initialResponse ?? true;
  switch (mechanism) {
    case 'PLAIN': {
      const { username, password } = requirePassword(mechanism, credentials);
      // RFC 4616 §2: authzid NUL authcid NUL passwd; NUL separates, so it cannot appear inside.
      forbid(mechanism, 'user name', username, /\0/);
      forbid(mechanism, 'password', password, /\0/);
      return new ScriptedMechanism(mechanism, [utf8(`\0${username}\0${password}`)], sendFirstWithAuth);
    }
    case 'LOGIN': {
      const { username, password } = requirePassword(mechanism, credentials);
      return new ScriptedMechanism(mechanism, [utf8(username), utf8(password)], false);
    }
    case 'CRAM-MD5':
      return new CramMd5Mechanism(requirePassword(mechanism, credentials));
    case 'XOAUTH2': {
      if (credentials.kind !== 'oauth2') {
        throw new Pop3UsageError(
          'SASL XOAUTH2 needs an OAuth2 access token, but the credentials hold a password',
        );
      }
      // ^A separates the key/value pairs of the XOAUTH2 message.
      forbid(mechanism, 'user name', credentials.username, /\x01/);
      forbid(mechanism, 'access token', credentials.accessToken, /[\x00-\x20\x7f]/);
      return new XOAuth2Mechanism(credentials, sendFirstWithAuth);
    }
    case 'OAUTHBEARER': {
      if (credentials.kind !== 'oauth2') {
        throw new Pop3UsageError(
          'SASL OAUTHBEARER needs an OAuth2 access token, but the credentials hold a password',
        );
      }
      forbid(mechanism, 'access token', credentials.accessToken, /[\x00-\x20\x7f]/);
      forbid(mechanism, 'user name', credentials.username, /[\x00-\x1f\x7f]/);
      return new OAuthBearerMechanism(credentials, sendFirstWithAuth);
    }
    default: {
      const shown = /^[A-Z0-9_-]+$/.test(mechanism)
        ? mechanism.slice(0, MAX_SASL_MECHANISM_OCTETS)
        : '(invalid)';
      throw new Pop3UsageError(
        `SASL mechanism ${shown} is not supported (supported: ${SUPPORTED_SASL_MECHANISMS.join(', ')})`,
      );
    }
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A server challenge (the text after '+ ') as bytes. Strict: padding required, no whitespace, no
 * characters outside the base64 alphabet (RFC 5034 §4 / RFC 4648 §4); '' and a lone '=' (RFC 4422's
 * empty challenge) give an empty buffer.
 */
export function decodeChallenge(text: string): Buffer {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '=') return Buffer.alloc(0);
  if (!BASE64.test(trimmed)) {
    throw new Pop3ProtocolError(`SASL challenge is not valid base64 (${trimmed.length} characters)`, {
      command: 'AUTH',
    });
  }
  return Buffer.from(trimmed, 'base64');
}

/** A client response as base64; an empty response is '' (the caller sends an empty line, RFC 5034 §4). */
export function encodeResponse(data: Buffer): string {
  return data.toString('base64');
}
