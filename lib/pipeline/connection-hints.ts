/**
 * The usual configuration mistakes, recognised from what the connection did, each with the fix a person
 * needs: plain POP3 against a TLS port (the server waits silently for a TLS ClientHello, or answers with
 * a TLS record), TLS against a plain port (OpenSSL's "wrong version number"), a certificate from a private
 * CA, a host name that does not resolve, a port where nothing listens.
 *
 * A hint is added to the outcome's message; a mistake that will not go away by itself (DNS, TLS) also
 * gets its own reason (lib/pipeline/reasons.ts), so that a scheduler does not retry it as transient.
 */
import type { TlsMode } from '../pop3/credentials.ts';
import {
  Pop3ConnectionError,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3TimeoutError,
} from '../pop3/errors.ts';
import { SERVER_EXPECTS_TLS_CODE } from '../pop3-client/tls-probe.ts';

/** What the run knew about the connection it tried. */
export interface ConnectionContext {
  readonly tls: TlsMode;
  readonly port: number;
  /** Whether the greeting (and the rest of the connection setup) completed. */
  readonly connected: boolean;
}

export interface ConnectionHint {
  /** Set when the mistake is one of configuration: the run fails with this reason instead of retrying. */
  readonly reason?: 'dns' | 'tls';
  readonly hint: string;
  /** Replaces the error's own message where that misleads ("TLS connection … failed" for a DNS failure). */
  readonly message?: string;
}

export const HINT_EXPECTS_TLS = 'the server may expect TLS: set tls: implicit (port 995)';
export const HINT_NO_TLS = 'the server answered without TLS: use tls: starttls or none (port 110)';
export const HINT_PRIVATE_CA =
  'the certificate is self-signed or issued by a CA this machine does not trust: give that CA certificate ' +
  '(PEM) as ca, or its file as caFile';
export const HINT_SERVERNAME =
  'the certificate is for another name: connect by the name on the certificate, or set servername to it';
export const HINT_DNS = 'the host name does not resolve: check host (and this machine’s DNS)';
/** The POP3 host was fine; the OAuth2 token endpoint's was not (a tenant or tokenUrl typo, or DNS). */
export const HINT_TOKEN_DNS =
  'the token endpoint’s host name does not resolve: check tokenUrl and tenant (and this machine’s DNS)';
export const HINT_REFUSED = 'nothing accepts connections on that port: check host, port and tls';

/** DNS answers that mean "no such name" (ENOTFOUND) or "no answer now" (EAI_AGAIN, a resolver that is down). */
const DNS_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA']);
/** OpenSSL's verdicts when the peer's first bytes are not a TLS record (a plain POP3 greeting is "+OK …"). */
const NOT_TLS =
  /wrong version number|packet length too long|unknown protocol|record layer failure|http request/i;
const UNTRUSTED_CA_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

export function connectionHint(error: unknown, context: ConnectionContext): ConnectionHint | undefined {
  const codes = causeCodes(error);
  const dns = codes.find((code) => DNS_CODES.has(code));
  if (dns !== undefined) {
    const name = causeField(error, 'hostname') ?? 'the host name';
    // Not the POP3 host's fault: the token endpoint is another host.
    if (isTokenEndpointError(error)) {
      const host = causeField(error, 'hostname') ?? tokenEndpointHost(error) ?? 'its host';
      return {
        reason: 'dns',
        hint: HINT_TOKEN_DNS,
        message: `cannot resolve the token endpoint ${host} (${dns})`,
      };
    }
    return { reason: 'dns', hint: HINT_DNS, message: `cannot resolve ${name} (${dns})` };
  }
  // The port answered our TLS probe with TLS (lib/pop3-client/tls-probe.ts): tls: implicit is the fix.
  if (codes.includes(SERVER_EXPECTS_TLS_CODE)) return { reason: 'tls', hint: HINT_EXPECTS_TLS };
  if (codes.includes('ERR_SSL_WRONG_VERSION_NUMBER') || (context.tls !== 'none' && notTls(error))) {
    return { reason: 'tls', hint: HINT_NO_TLS };
  }
  if (error instanceof Pop3SecurityError) {
    if (codes.some((code) => UNTRUSTED_CA_CODES.has(code))) return { reason: 'tls', hint: HINT_PRIVATE_CA };
    if (codes.some((code) => /HOSTNAME|ALTNAME/.test(code))) return { reason: 'tls', hint: HINT_SERVERNAME };
  }
  if (codes.includes('ECONNREFUSED')) return { hint: HINT_REFUSED };
  if (context.tls !== 'implicit' && !context.connected && looksLikeTlsServer(error)) {
    return { hint: HINT_EXPECTS_TLS };
  }
  return undefined;
}

/**
 * A plain client on a TLS port: the server says nothing (it waits for our ClientHello) until a timeout,
 * or sends a TLS record (0x15 alert / 0x16 handshake, then version 0x03) where the greeting belongs, and
 * usually closes before a line end.
 */
function looksLikeTlsServer(error: unknown): boolean {
  if (error instanceof Pop3TimeoutError) return error.phase === 'greeting' || error.phase === 'deadline';
  if (error instanceof Pop3ConnectionError)
    return /in the middle of the reply to greeting/.test(error.message);
  if (error instanceof Pop3ProtocolError) {
    return /greeting/.test(error.message) && /\\u00[01][0-9a-f]|[\x7f-\xff]/.test(error.message);
  }
  return false;
}

/** lib/oauth/errors.ts names its errors so; matched by name, which survives bundling. */
function isTokenEndpointError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.name === 'TokenEndpointUnavailableError' || e.name === 'TokenRequestError') return true;
  }
  return false;
}

/** "token endpoint https://login.example.com/…/token could not be reached" (lib/oauth/token-request.ts). */
function tokenEndpointHost(error: unknown): string | undefined {
  const url = error instanceof Error ? /token endpoint (\S+)/.exec(error.message)?.[1] : undefined;
  return url === undefined || !URL.canParse(url) ? undefined : new URL(url).hostname;
}

function notTls(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) if (NOT_TLS.test(e.message)) return true;
  return false;
}

function causeField(error: unknown, field: string): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const value = (e as unknown as Record<string, unknown>)[field];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** `code` of the error and of every cause below it ("ENOTFOUND", "DEPTH_ZERO_SELF_SIGNED_CERT", …). */
function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = error; e instanceof Error && codes.length < 10; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}
