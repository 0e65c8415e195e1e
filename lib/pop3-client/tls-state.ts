/**
 * TLS state kept per process for the next connection to the same server (lib/pop3-client/transport.ts
 * uses it): the session a server handed out, offered again for resumption, and the trust store built
 * for a mailbox `ca`. No sockets here; only bounded maps.
 *
 * A session is keyed by everything that decides what the connection trusts: "host:port", the name the
 * certificate must match, the mailbox `ca` (by hash) and NODE_EXTRA_CA_CERTS. A session made under one
 * trust setting is never offered under another, so resumption never skips a check a full handshake
 * would make.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/**
 * TLS sessions kept for resumption. Our own bound: one per server and trust setting a process polls;
 * 1,000 sessions of a few KB each stay within a few MB. The least recent goes first.
 */
export const MAX_TLS_SESSIONS = 1000;

/** Trust stores kept, one per distinct mailbox `ca`; a configuration has few. */
export const MAX_TRUST_STORES = 100;

const sessions = new Map<string, Buffer>();
const trustStores = new Map<string, tls.SecureContext>();

export function tlsSessionKey(label: string, servername: string, ca: string | undefined): string {
  const trust = ca === undefined ? '' : createHash('sha256').update(ca).digest('hex');
  return `${label}\0${servername}\0${trust}\0${process.env.NODE_EXTRA_CA_CERTS ?? ''}`;
}

export function tlsSession(key: string): Buffer | undefined {
  return sessions.get(key);
}

export function rememberTlsSession(key: string, session: Buffer): void {
  putBounded(sessions, key, session, MAX_TLS_SESSIONS);
}

export function forgetTlsSession(key: string): void {
  sessions.delete(key);
}

/** How many TLS sessions are kept (for tests and diagnostics). */
export function tlsSessionCount(): number {
  return sessions.size;
}

/**
 * Node's roots, the NODE_EXTRA_CA_CERTS certificates and a mailbox `ca`, as one context built once: a
 * `ca` option replaces Node's default store, and parsing ~140 roots anew cost ~100 ms of CPU per
 * connection on a small machine.
 */
export function trustStoreWith(ca: string): tls.SecureContext {
  const extraCertificates = extraCaCertificates(process.env.NODE_EXTRA_CA_CERTS);
  const key = `${ca}\0${extraCertificates.join('')}`;
  let context = trustStores.get(key);
  if (context === undefined) {
    context = tls.createSecureContext({
      ca: [...tls.rootCertificates, ...extraCertificates, ca],
      minVersion: 'TLSv1.2',
    });
  }
  putBounded(trustStores, key, context, MAX_TRUST_STORES);
  return context;
}

/** Sets `key` as the newest entry; drops the oldest beyond `max` (a Map iterates in insertion order). */
function putBounded<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as string);
}

const extraCaByFile = new Map<string, readonly string[]>();

/**
 * The certificates in the file named by NODE_EXTRA_CA_CERTS, read once per file name. Node 20 has no API
 * that returns them (tls.getCACertificates('extra') came in Node 22.15), so the file is read here, as Node
 * itself reads it. A file Node could not read is ignored with a warning at startup; so do we: the
 * connection then trusts what it would have trusted without `ca`, plus `ca`.
 */
function extraCaCertificates(file: string | undefined): readonly string[] {
  if (file === undefined || file === '') return [];
  let certificates = extraCaByFile.get(file);
  if (certificates === undefined) {
    try {
      certificates = [readFileSync(file, 'latin1')];
    } catch {
      certificates = [];
    }
    extraCaByFile.set(file, certificates);
  }
  return certificates;
}
