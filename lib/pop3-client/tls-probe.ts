/**
 * `tls: starttls` or `none` against a port that speaks TLS from its first byte (995): the server waits in
 * silence for a ClientHello, the client in silence for a greeting, and the run used to end only when the
 * greeting timeout (15 s) fired, as `retry-later (timeout)`, every run. A POP3 server greets as soon as it
 * accepts the connection (RFC 1939 §4), so a plain connection still silent after TLS_PROBE_AFTER_MS is
 * checked: a SECOND connection to the same port sends a TLS ClientHello, and a TLS record coming back
 * (a ServerHello, or an alert: 0x16 or 0x15, then version 0x03) where a greeting would be proves the port
 * expects TLS. The run then ends at once as a configuration mistake (reason `tls`, with the fix).
 *
 * Why a second connection: the first one stays clean. A plain server that is merely slow to greet would
 * take a ClientHello on its own session for a command and answer it with -ERR, a reply nobody asked for;
 * on the throwaway connection it costs nothing, and the first one goes on waiting for its greeting.
 *
 * The bytes are built here without I/O; lib/pop3-client/transport.ts (answersWithTls) opens the socket.
 */
import { Pop3SecurityError } from '../pop3/errors.ts';

/**
 * How long a plain connection may stay silent before the port is probed for TLS. Our own choice: a
 * greeting takes one round trip after the accept; 1.5 s is several round trips on a slow, far link.
 */
export const TLS_PROBE_AFTER_MS = 1_500;

/** `code` of the error's cause, so lib/pipeline/connection-hints.ts can name the mistake and its fix. */
export const SERVER_EXPECTS_TLS_CODE = 'ERR_POP3_SERVER_EXPECTS_TLS';

/**
 * A TLS 1.2 ClientHello (RFC 5246 §7.4.1.2) any TLS server answers, with a ServerHello or at least an
 * alert: TLS 1.3 and 1.2 AEAD suites, P-256, RSA and ECDSA signatures. The random is fixed: the
 * handshake is never finished, and no secret is ever derived from it.
 */
export function tlsProbeClientHello(): Buffer {
  const suites = [0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f, 0xc0, 0x2b, 0xc0, 0x30, 0x00, 0x9c];
  const extensions = [
    ...[0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17], // supported_groups: secp256r1
    ...[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00], // ec_point_formats: uncompressed
    ...[0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x01, 0x08, 0x04, 0x04, 0x03], // signature_algorithms
  ];
  const body = [
    0x03,
    0x03, // client_version TLS 1.2
    ...new Array<number>(32).fill(0x2a), // random
    0x00, // session_id: none
    ...u16(suites.length),
    ...suites,
    0x01,
    0x00, // compression: null
    ...u16(extensions.length),
    ...extensions,
  ];
  const handshake = [0x01, 0x00, ...u16(body.length), ...body]; // client_hello, 24-bit length
  return Buffer.from([0x16, 0x03, 0x01, ...u16(handshake.length), ...handshake]);
}

function u16(value: number): number[] {
  return [(value >> 8) & 0xff, value & 0xff];
}

/** A TLS record header (handshake 0x16 or alert 0x15, major version 3), never "+OK" or "-ERR". */
export function isTlsRecordStart(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && (bytes[0] === 0x16 || bytes[0] === 0x15) && bytes[1] === 0x03;
}

/**
 * The greeting, unless the port turns out to speak TLS first: then rejects with a Pop3SecurityError at
 * once instead of waiting for the greeting timeout. `probe` resolves true when the port answered a
 * ClientHello with TLS; it runs only if no greeting came within `afterMs`.
 */
export function greetingUnlessTlsPort<T>(
  greeting: Promise<T>,
  probe: () => Promise<boolean>,
  afterMs: number,
  server: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const tlsServer = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      probe().then(
        (speaksTls) => {
          if (!speaksTls) return;
          const cause = Object.assign(new Error('TLS record where a POP3 greeting belongs'), {
            code: SERVER_EXPECTS_TLS_CODE,
          });
          reject(
            new Pop3SecurityError(
              `${server} sent no greeting and answers a TLS ClientHello with TLS: the port expects TLS from the first byte`,
              { server, cause },
            ),
          );
        },
        () => undefined, // a probe that fails proves nothing: the greeting timeout decides
      );
    }, afterMs);
  });
  return Promise.race([greeting, tlsServer]).finally(() => clearTimeout(timer));
}
