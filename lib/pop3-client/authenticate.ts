/**
 * Logging in: USER/PASS (RFC 1939 §7), APOP (RFC 1939 §7) and SASL (RFC 5034), with `auto` choosing
 * the strongest mechanism the server offers for the credentials given.
 */
import type { AuthMethod } from '../config/types.ts';
import { apopDigest, isValidApopTimestamp } from '../pop3/apop.ts';
import { Pop3Commands } from '../pop3/commands.ts';
import {
  Pop3AuthenticationError,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3UsageError,
} from '../pop3/errors.ts';
import { MAX_COMMAND_OCTETS } from '../pop3/limits.ts';
import { type Capabilities, type Greeting, NO_CAPABILITIES } from '../pop3/parsers.ts';
import {
  chooseSaslMechanism,
  createSaslMechanism,
  decodeChallenge,
  encodeResponse,
  mayTryOtherForm,
  type SaslMechanism,
  xoauth2Attempts,
} from '../pop3/sasl.ts';
import type { Credentials } from '../ports.ts';
import type { Conversation } from './conversation.ts';

/** A SASL exchange longer than this is a server going in circles. */
const MAX_SASL_ROUND_TRIPS = 10;

/** Mechanisms that put the password or token itself on the wire (base64 is not encryption). */
const SENDS_SECRET = new Set(['USER', 'PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER']);

export interface LoginContext {
  readonly conversation: Conversation;
  readonly capabilities: Capabilities;
  readonly greeting: Greeting;
  readonly encrypted: boolean;
  readonly allowInsecureAuth: boolean;
}

/** Returns the mechanism used ('USER', 'APOP', 'PLAIN', ...). Rejects with Pop3AuthenticationError on -ERR. */
export async function authenticate(
  context: LoginContext,
  credentials: Credentials,
  method: AuthMethod,
): Promise<string> {
  const mechanism = pickMechanism(context, credentials, method);
  if (SENDS_SECRET.has(mechanism) && !context.encrypted && !context.allowInsecureAuth) {
    throw new Pop3SecurityError(
      `refusing to send ${credentials.kind === 'oauth2' ? 'a token' : 'a password'} to ${context.conversation.server} ` +
        `over a connection without TLS (${mechanism}); use TLS, or set allowInsecureAuth to accept the risk`,
      { server: context.conversation.server },
    );
  }
  const { conversation } = context;
  if (mechanism === 'USER') {
    if (credentials.kind !== 'password') throw usage('USER/PASS needs a password, not a token');
    // Both lines are built (and checked) first: a password that cannot be sent must not leave USER behind.
    const user = Pop3Commands.user(credentials.username);
    const pass = Pop3Commands.pass(credentials.password);
    await conversation.send(user);
    await conversation.send(pass);
  } else if (mechanism === 'APOP') {
    const timestamp = context.greeting.apopTimestamp;
    if (credentials.kind !== 'password') throw usage('APOP needs a password, not a token');
    if (timestamp === undefined || !isValidApopTimestamp(timestamp)) {
      throw new Pop3SecurityError(
        `${conversation.server} offers no valid APOP timestamp in its greeting; APOP is not possible`,
        { server: conversation.server },
      );
    }
    await conversation.send(
      Pop3Commands.apop(credentials.username, apopDigest(timestamp, credentials.password)),
    );
  } else if (credentials.kind === 'oauth2') {
    await tokenLogin(conversation, mechanism, credentials);
  } else {
    await saslExchange(conversation, mechanism, credentials);
  }
  return mechanism;
}

/**
 * XOAUTH2 in the form the provider needs, once in the other form if the server refused the first without
 * looking at the token (lib/pop3/sasl.ts); OAUTHBEARER as is. A refusal carries the token's decoded
 * claims, which is what shows a wrong audience, scope or tenant.
 */
async function tokenLogin(
  conversation: Conversation,
  name: string,
  credentials: Extract<Credentials, { kind: 'oauth2' }>,
): Promise<void> {
  const oneStep = createSaslMechanism(name, credentials, { initialResponse: true }).initialResponse();
  const fits =
    oneStep === undefined || `AUTH ${name} ${encodeResponse(oneStep)}\r\n`.length <= MAX_COMMAND_OCTETS;
  const forms = name === 'XOAUTH2' ? xoauth2Attempts(credentials, fits) : [fits ? 'one-step' : 'two-step'];
  for (const [attempt, form] of forms.entries()) {
    const mechanism = createSaslMechanism(name, credentials, { initialResponse: form === 'one-step' });
    try {
      await runExchange(conversation, name, mechanism, !fits);
      return;
    } catch (error) {
      // The server's own trouble or a lock is not about the form: the other form would meet it too.
      const transient =
        error instanceof Pop3AuthenticationError &&
        (error.hasCode('SYS') || error.hasCode('IN-USE') || error.hasCode('LOGIN-DELAY'));
      const retry = attempt + 1 < forms.length && !transient && mayTryOtherForm(mechanism);
      if (error instanceof Pop3AuthenticationError && !retry && credentials.tokenDescription !== undefined) {
        error.message = `${error.message}; ${credentials.tokenDescription}`;
      }
      if (!(error instanceof Pop3AuthenticationError) || !retry) throw error;
    }
  }
}

function pickMechanism(context: LoginContext, credentials: Credentials, method: AuthMethod): string {
  if (method !== 'auto') return method.toUpperCase();
  const canUseApop =
    context.greeting.apopTimestamp !== undefined && isValidApopTimestamp(context.greeting.apopTimestamp);
  const chosen = chooseSaslMechanism(context.capabilities.sasl, credentials, canUseApop, {
    capaSupported: context.capabilities !== NO_CAPABILITIES,
    userCapability: context.capabilities.user,
  });
  if (chosen === undefined) {
    throw new Pop3SecurityError(
      `${context.conversation.server} offers no login mechanism usable with ${credentials.kind} credentials ` +
        `(SASL: ${context.capabilities.sasl.join(' ') || 'none'})`,
      { server: context.conversation.server },
    );
  }
  return chosen;
}

async function saslExchange(
  conversation: Conversation,
  name: string,
  credentials: Credentials,
): Promise<void> {
  let mechanism: SaslMechanism = createSaslMechanism(name, credentials, { initialResponse: true });
  let initial = mechanism.initialResponse();
  // RFC 5034 §4: an initial response that would make the AUTH line exceed 255 octets is sent after an
  // empty challenge instead (Microsoft 365's XOAUTH2 tokens always do).
  if (initial !== undefined && `AUTH ${name} ${encodeResponse(initial)}\r\n`.length > MAX_COMMAND_OCTETS) {
    mechanism = createSaslMechanism(name, credentials, { initialResponse: false });
    initial = undefined;
  }
  await runExchange(conversation, name, mechanism, false);
}

/** AUTH and the challenge/response rounds until +OK (resolves) or -ERR (rejects). */
async function runExchange(
  conversation: Conversation,
  name: string,
  mechanism: SaslMechanism,
  beyondLineLimit: boolean,
): Promise<void> {
  const initial = mechanism.initialResponse();
  const first = initial === undefined ? undefined : initial.length === 0 ? 'empty' : initial;
  let reply = await conversation.send(Pop3Commands.auth(name, first, { beyondLineLimit }));
  for (let round = 0; reply.status.kind === '+'; round++) {
    let response: Buffer;
    try {
      if (round >= MAX_SASL_ROUND_TRIPS) {
        throw new Pop3ProtocolError(`${conversation.server} kept challenging after ${round} SASL rounds`, {
          server: conversation.server,
          command: 'AUTH',
        });
      }
      response = mechanism.respond(decodeChallenge(reply.status.text));
    } catch (error) {
      // '*' cancels the exchange (RFC 5034 §4); the server answers -ERR, which we do not need.
      await conversation.send(Pop3Commands.saslResponse('*')).catch(() => undefined);
      throw error;
    }
    reply = await conversation.send(Pop3Commands.saslResponse(response));
  }
}

function usage(message: string): Pop3UsageError {
  return new Pop3UsageError(message);
}
