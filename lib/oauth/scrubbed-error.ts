/**
 * What of a token request's failure may reach a log. Errors from the token exchange carry the answer they
 * choked on: oauth4webapi puts the whole parsed body (access and refresh tokens included) into `cause`,
 * a ResponseBodyError holds the Response, a JSON SyntaxError quotes the start of the body. Powertools
 * prints every enumerable property of every error in a cause chain, so a log line kept 90 days would hold
 * live tokens. Everything leaving the token provider (lib/oauth/token-provider.ts) goes through
 * `scrubbedError`: the chain is rebuilt from class names, messages (known secrets and anything JWT-shaped
 * replaced, control characters removed, truncated), short string codes and the endpoint's `error` /
 * `error_description` (RFC 6749 §5.2); every other property, and every cause that is not an Error, is
 * dropped.
 */
import { quote } from './errors.ts';

/** A cause chain deeper than this is cut (and a cycle cannot loop). */
const MAX_CHAIN_DEPTH = 8;
/** Codes such as OAUTH_INVALID_RESPONSE or ECONNREFUSED: identifiers, short. */
const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
/** A JWS/JWT in compact form (RFC 7515 §7.1): three base64url parts, the first a JSON header. */
const JWT_SHAPED = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
/** Secrets shorter than this are not searched for: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 8;

/** Replaces the given secrets and anything JWT-shaped in `text`, then quotes it (control chars, length). */
export function redacted(text: string, secrets: readonly (string | undefined)[] = []): string {
  return quote(withoutSecrets(text, secrets));
}

/** `text` with the given secrets and anything JWT-shaped replaced. */
function withoutSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let clean = text.replace(JWT_SHAPED, '[jwt removed]');
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= MIN_SECRET_LENGTH)
      clean = clean.split(secret).join('[secret removed]');
  }
  return clean;
}

/** A stand-in for an error of the chain: its class name, scrubbed message and stack, and nothing else. */
class ScrubbedCause extends Error {
  constructor(name: string, message: string, stack: string | undefined, cause: Error | undefined) {
    super(message, cause === undefined ? undefined : { cause });
    // Not enumerable, like an Error's own name: the logger prints it from the property it always reads.
    Object.defineProperty(this, 'name', { value: name, enumerable: false, configurable: true });
    Object.defineProperty(this, 'stack', {
      value: `${name}: ${message}${framesOf(stack)}`,
      enumerable: false,
      configurable: true,
    });
  }
}

/**
 * The error itself (its class kept, so `instanceof` and `name` still classify it) with its message
 * redacted and its cause chain rebuilt from scrubbed stand-ins; any other own property is removed. An
 * error that is not an Error becomes a plain Error naming only its type.
 */
export function scrubbedError(error: unknown, secrets: readonly (string | undefined)[]): Error {
  if (!(error instanceof Error)) return new Error(`a non-Error value was thrown (${typeof error})`);
  // The top error's message is ours, built from quoted parts: not cut, so its advice stays whole.
  const message = withoutSecrets(error.message, secrets).replace(/[\x00-\x1f\x7f]/g, ' ');
  const cause = scrubbedCause(error.cause, secrets, 1);
  for (const key of Object.keys(error)) {
    if (!keptProperty(key, (error as unknown as Record<string, unknown>)[key])) {
      delete (error as unknown as Record<string, unknown>)[key];
    }
  }
  Object.defineProperty(error, 'message', {
    value: message,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  Object.defineProperty(error, 'stack', {
    value: `${error.name}: ${message}${framesOf(error.stack)}`,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  Object.defineProperty(error, 'cause', {
    value: cause,
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return error;
}

function scrubbedCause(
  cause: unknown,
  secrets: readonly (string | undefined)[],
  depth: number,
): Error | undefined {
  if (!(cause instanceof Error) || depth > MAX_CHAIN_DEPTH) return undefined;
  const inner = scrubbedCause(cause.cause, secrets, depth + 1);
  const copy = new ScrubbedCause(cause.name, messageOf(cause, secrets), cause.stack, inner);
  const fields = cause as unknown as Record<string, unknown>;
  for (const key of ['code', 'error', 'error_description', 'status']) {
    const value = fields[key];
    if (keptProperty(key, value)) {
      (copy as unknown as Record<string, unknown>)[key] =
        typeof value === 'string' ? redacted(value, secrets) : value;
    }
  }
  return copy;
}

function messageOf(error: Error, secrets: readonly (string | undefined)[]): string {
  // JSON.parse quotes the text it failed on: here, the start of a token response.
  if (error.name === 'SyntaxError')
    return 'not valid JSON (the parser message, which quotes it, is not kept)';
  return redacted(error.message, secrets);
}

/** Own properties an error may keep: short codes, the endpoint's error and description, an HTTP status. */
function keptProperty(key: string, value: unknown): boolean {
  if (key === 'name') return typeof value === 'string'; // our classes declare it as an own field
  if (key === 'code') return typeof value === 'string' ? CODE.test(value) : typeof value === 'number';
  if (key === 'error') return typeof value === 'string' && CODE.test(value);
  if (key === 'error_description') return typeof value === 'string';
  if (key === 'status') return typeof value === 'number';
  return false;
}

/** The "    at …" lines of a stack: code locations, no data. */
function framesOf(stack: string | undefined): string {
  if (stack === undefined) return '';
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return frames.length === 0 ? '' : `\n${frames.join('\n')}`;
}
