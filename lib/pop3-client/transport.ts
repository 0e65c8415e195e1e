/**
 * The one module that touches sockets. It knows nothing of POP3: it connects (plain or implicit TLS),
 * upgrades a plain connection to TLS in place (STLS), moves bytes, and exposes pause/resume so the client
 * can apply backpressure from a slow consumer all the way to the server's TCP window.
 *
 * A warm process (Lambda container, long CLI run) reconnects to the same servers every few minutes, so
 * TLS state is kept per process (tls-state.ts): the session (ticket) a server handed out is offered again on the next
 * connection to it (resumption skips the certificate chain and its verification on both sides), and the
 * trust store built for a mailbox `ca` is built once, not per connection (Node's roots parsed anew were
 * most of a warm poll's CPU: bench/notes.md, "An empty mailbox"). Both are keyed by everything that decides what is trusted,
 * so a session is never reused under other trust settings or another name.
 */
import net from 'node:net';
import tls from 'node:tls';
import { Pop3ConnectionError, Pop3SecurityError, Pop3TimeoutError } from '../pop3/errors.ts';
import { isTlsRecordStart, tlsProbeClientHello } from './tls-probe.ts';
import {
  forgetTlsSession,
  rememberTlsSession,
  tlsSession,
  tlsSessionKey,
  trustStoreWith,
} from './tls-state.ts';

interface SessionOptions extends tls.ConnectionOptions {
  /** Where the session this connection gets is kept for the next one (tls-state.ts). */
  readonly sessionKey: string;
}

export interface TlsSettings {
  /**
   * Extra trusted CA certificates (PEM), added to Node's roots AND to the certificates named by
   * `NODE_EXTRA_CA_CERTS`: a mailbox `ca` never takes away a CA the operator trusts process-wide.
   */
  readonly ca?: string | undefined;
  /** Name to verify the certificate against (SNI too); defaults to the host. */
  readonly servername?: string | undefined;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  /** true: TLS from the first byte (port 995). */
  readonly implicitTls: boolean;
  readonly tls: TlsSettings;
  readonly connectTimeoutMs: number;
  readonly tlsTimeoutMs: number;
}

export interface TransportEvents {
  data(chunk: Buffer): void;
  /** The connection ended; `error` when it was not an orderly close. */
  closed(error: Error | undefined): void;
}

export class Transport {
  readonly label: string;
  #socket: net.Socket;
  #events: TransportEvents | undefined;
  #closed = false;
  readonly #onData = (chunk: Buffer) => this.#events?.data(chunk);
  readonly #onError = (error: Error) => this.#finish(error);
  readonly #onClose = () => this.#finish(undefined);

  private constructor(socket: net.Socket, label: string) {
    this.#socket = socket;
    this.label = label;
    this.#attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<Transport> {
    const label = `${options.host}:${options.port}`;
    const socket = await connectSocket(options, label);
    return new Transport(socket, label);
  }

  /** Starts delivering events. Bytes are not read before this is called (the socket starts paused). */
  start(events: TransportEvents): void {
    this.#events = events;
    this.#socket.resume();
  }

  get encrypted(): boolean {
    return this.#socket instanceof tls.TLSSocket && this.#socket.encrypted;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The TLS handshake resumed an earlier session instead of verifying the certificate chain again. */
  get tlsResumed(): boolean {
    return this.#socket instanceof tls.TLSSocket && this.#socket.isSessionReused();
  }

  /** Queues bytes; Node buffers them, so a slow reader on the server side never blocks our reads. */
  write(bytes: Buffer): void {
    if (!this.#closed) this.#socket.write(bytes);
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }

  /**
   * STLS: wraps the current socket in TLS. Our data listener comes off first, so nothing the server
   * sent before the handshake can reach the decoder through the encrypted stream (cf. CVE-2021-22947);
   * the caller discards whatever had already been read.
   */
  async upgradeToTls(settings: TlsSettings, host: string, timeoutMs: number): Promise<void> {
    const plain = this.#socket;
    this.#detach(plain);
    plain.pause();
    const secure = await handshake(
      { socket: plain, ...tlsOptions(settings, host, this.label) },
      this.label,
      timeoutMs,
      () => plain.destroy(),
    );
    this.#socket = secure;
    this.#attach(secure);
    if (this.#events) secure.resume();
  }

  /** Ends the connection politely (after pending writes). */
  end(): void {
    if (!this.#closed) this.#socket.end();
  }

  destroy(error?: Error): void {
    this.#finish(error);
    this.#socket.destroy();
  }

  #attach(socket: net.Socket): void {
    socket.pause();
    socket.on('data', this.#onData);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  #detach(socket: net.Socket): void {
    socket.off('data', this.#onData);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const wrapped =
      error === undefined
        ? undefined
        : new Pop3ConnectionError(`connection to ${this.label} failed: ${error.message}`, {
            cause: error,
            server: this.label,
          });
    this.#events?.closed(wrapped);
  }
}

/** `label`: the server's "host:port", which with the trust settings keys the TLS session to resume. */
function tlsOptions(settings: TlsSettings, host: string, label: string): SessionOptions {
  const servername = settings.servername ?? host;
  const sessionKey = tlsSessionKey(label, servername, settings.ca);
  return {
    // Certificate and hostname verification stay on: there is no option to turn them off.
    rejectUnauthorized: true,
    servername: net.isIP(servername) ? undefined : servername,
    checkServerIdentity: (_name, cert) => tls.checkServerIdentity(servername, cert),
    // Without `ca` Node uses its roots plus NODE_EXTRA_CA_CERTS; a `ca` option replaces both, so both go
    // back in, in a context built once per `ca`.
    ...(settings.ca === undefined
      ? { minVersion: 'TLSv1.2' }
      : { secureContext: trustStoreWith(settings.ca) }),
    session: tlsSession(sessionKey),
    sessionKey,
  };
}

function connectSocket(options: ConnectOptions, label: string): Promise<net.Socket> {
  if (options.implicitTls) {
    return handshake(
      { host: options.host, port: options.port, ...tlsOptions(options.tls, options.host, label) },
      label,
      options.connectTimeoutMs + options.tlsTimeoutMs,
    );
  }
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Pop3TimeoutError(`no TCP connection to ${label} within ${options.connectTimeoutMs} ms`, {
          phase: 'connect',
          server: label,
        }),
      );
    }, options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new Pop3ConnectionError(`cannot connect to ${label}: ${error.message}`, {
          cause: error,
          server: label,
        }),
      );
    });
  });
}

function handshake(
  { sessionKey, ...options }: SessionOptions,
  label: string,
  timeoutMs: number,
  onFail?: () => void,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    // TLS 1.3 tickets come after the handshake, with the first data; each replaces the one kept.
    socket.on('session', (session: Buffer) => rememberTlsSession(sessionKey, session));
    const fail = (error: Error) => {
      clearTimeout(timer);
      forgetTlsSession(sessionKey); // a handshake that failed starts from scratch next time
      socket.destroy();
      onFail?.();
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Pop3TimeoutError(`TLS handshake with ${label} did not finish within ${timeoutMs} ms`, {
            phase: 'tls',
            server: label,
          }),
        ),
      timeoutMs,
    );
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error: Error & { code?: string }) => {
      const certProblem = error.code !== undefined && isCertificateError(error.code);
      fail(
        certProblem
          ? new Pop3SecurityError(`TLS certificate of ${label} rejected: ${error.message}`, {
              cause: error,
              server: label,
            })
          : new Pop3ConnectionError(`TLS connection to ${label} failed: ${error.message}`, {
              cause: error,
              server: label,
            }),
      );
    });
  });
}

/**
 * OpenSSL's certificate verification results as Node reports them (error.code), plus Node's own hostname
 * check. Several do not contain "CERT": UNABLE_TO_VERIFY_LEAF_SIGNATURE is what an unknown CA gives when
 * the server sends its certificate without the chain, the most common misconfiguration of all.
 */
const CERTIFICATE_ERROR_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isCertificateError(code: string): boolean {
  return CERTIFICATE_ERROR_CODES.has(code) || /CERT|SELF_SIGNED|HOSTNAME|ALTNAME/.test(code);
}

/**
 * Whether host:port answers a TLS ClientHello with a TLS record (lib/pop3-client/tls-probe.ts): a
 * throwaway connection of its own that sends the hello, reads the first bytes and closes. False for
 * anything else (a POP3 greeting, silence until `timeoutMs`, a refused or failed connection).
 */
export function answersWithTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (speaksTls: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(speaksTls);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write(tlsProbeClientHello()));
    socket.once('data', (chunk: Buffer) => done(isTlsRecordStart(chunk)));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
