/**
 * The network steps of `mailbox-poller check` (lib/cli/check.ts) that open their own sockets: TCP, and
 * for implicit TLS a handshake that verifies chain and name separately, so each failure gets its own
 * hint. Nothing is sent over them; the POP3 steps use the client.
 */
import { connect as netConnect } from 'node:net';
import { checkServerIdentity, type PeerCertificate, connect as tlsConnect } from 'node:tls';
import type { MailboxConfig } from '../config/types.ts';
import { HINT_PRIVATE_CA, HINT_SERVERNAME } from '../pipeline/connection-hints.ts';

/** Each network step gives up after this long. */
export const STEP_TIMEOUT_MS = 20_000;
/** A certificate expiring sooner than this is reported as a warning in the TLS step. */
const EXPIRY_WARNING_DAYS = 14;

export function tcpConnect(host: string, port: number): Promise<[true, string]> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = netConnect({ host, port, timeout: STEP_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve([true, `connected in ${Math.round(performance.now() - started)} ms`]);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no answer within ${STEP_TIMEOUT_MS / 1000} s`));
    });
    socket.once('error', reject);
  });
}

/** The chain is not trusted: HINT_PRIVATE_CA. */
class CertificateChainError extends Error {
  override readonly name = 'CertificateChainError';
}

/** The chain is trusted but names another host: HINT_SERVERNAME, not the CA hint. */
class CertificateNameError extends Error {
  override readonly name = 'CertificateNameError';
}

/** For what the shared classification does not name (connection-hints.ts comes first, in `step`). */
export function tlsHint(error: unknown): string {
  if (error instanceof CertificateChainError) return HINT_PRIVATE_CA;
  if (error instanceof CertificateNameError) return HINT_SERVERNAME;
  return 'the TLS handshake did not complete: check port and tls (995 implicit TLS, 110 starttls or none)';
}

export function tlsCheck(mailbox: MailboxConfig): Promise<[true, string]> {
  const servername = mailbox.servername ?? mailbox.host;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: mailbox.host,
      port: mailbox.port,
      servername: /^[\d.]+$|:/.test(servername) ? undefined : servername,
      ...(mailbox.ca === undefined ? {} : { ca: mailbox.ca }),
      // Verified below, to report chain and name separately.
      rejectUnauthorized: false,
      timeout: STEP_TIMEOUT_MS,
    });
    socket.once('secureConnect', () => {
      const certificate: PeerCertificate = socket.getPeerCertificate();
      const authorized = socket.authorized;
      const chainError = socket.authorizationError;
      // Read before destroy(): a destroyed socket has no protocol ("TLS: null").
      const protocol = socket.getProtocol();
      socket.destroy();
      const nameError = checkServerIdentity(servername, certificate);
      const daysLeft = Math.floor((Date.parse(certificate.valid_to) - Date.now()) / 86_400_000);
      if (!authorized)
        return reject(new CertificateChainError(`certificate chain not trusted (${String(chainError)})`));
      if (nameError !== undefined)
        return reject(new CertificateNameError(`certificate is not for ${servername}: ${nameError.message}`));
      const warning = daysLeft < EXPIRY_WARNING_DAYS ? ` — WARNING: expires in ${daysLeft} days` : '';
      resolve([
        true,
        `${protocol}, certificate for ${servername} valid until ${certificate.valid_to}${warning}`,
      ]);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${STEP_TIMEOUT_MS / 1000} s`));
    });
    socket.once('error', reject);
  });
}
