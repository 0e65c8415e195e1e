/**
 * The usual configuration mistakes, recognised from the error a connection attempt ends with, and the
 * outcome they give: the fix in the message, and DNS and TLS mistakes failing rather than retrying.
 * (test/integration/cli-mistakes.test.ts shows each against real listeners through the built CLI.)
 */
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import {
  type ConnectionContext,
  connectionHint,
  HINT_DNS,
  HINT_EXPECTS_TLS,
  HINT_NO_TLS,
  HINT_PRIVATE_CA,
  HINT_REFUSED,
  HINT_SERVERNAME,
} from '../../../lib/pipeline/connection-hints.ts';
import {
  Pop3ConnectionError,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3TimeoutError,
} from '../../../lib/pop3/errors.ts';

const plain: ConnectionContext = { tls: 'none', port: 995, connected: false };
const implicit: ConnectionContext = { tls: 'implicit', port: 110, connected: false };

function withCode(message: string, code: string, extra: object = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('connectionHint', () => {
  it('no greeting on a plain connection: the server may expect TLS; not so for implicit TLS or after login', () => {
    const silent = new Pop3TimeoutError('no greeting from x:995 within 15000 ms', { phase: 'greeting' });
    expect(connectionHint(silent, plain)).toEqual({ hint: HINT_EXPECTS_TLS });
    expect(connectionHint(silent, { ...plain, tls: 'starttls' })).toEqual({ hint: HINT_EXPECTS_TLS });
    expect(connectionHint(silent, implicit)).toBeUndefined();
    const idle = new Pop3TimeoutError('x sent nothing', { phase: 'idle' });
    expect(connectionHint(idle, { ...plain, connected: true })).toBeUndefined();
  });

  it('non-text bytes where the greeting belongs: the server may expect TLS; a text line does not', () => {
    const record = new Pop3ProtocolError(
      `x:995: server answered greeting without +OK or -ERR: ${JSON.stringify('\u0015\u0003\u0003\u0000\u0002')}`,
    );
    expect(connectionHint(record, plain)).toEqual({ hint: HINT_EXPECTS_TLS });
    const text = new Pop3ProtocolError('x:110: server answered greeting without +OK or -ERR: "HELLO"');
    expect(connectionHint(text, plain)).toBeUndefined();
  });

  it('TLS against a plain port (OpenSSL: wrong version number): failed (tls), use starttls or none', () => {
    const cause = withCode(
      'error:0A00010B:SSL routines::wrong version number',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    );
    const error = new Pop3ConnectionError('TLS connection to x:110 failed: wrong version number', { cause });
    expect(classifyFailure(error, implicit)).toMatchObject({
      status: 'failed',
      reason: 'tls',
      message: expect.stringContaining(HINT_NO_TLS),
    });
    // Without context (the Lambda's metrics, old callers) the classification is the plain one.
    expect(classifyFailure(error).reason).toBe('network');
  });

  it('untrusted certificates point at ca/caFile, another name at servername', () => {
    for (const code of [
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ]) {
      const error = new Pop3SecurityError('TLS certificate of x:995 rejected', {
        cause: withCode(code, code),
      });
      expect(connectionHint(error, implicit), code).toEqual({ reason: 'tls', hint: HINT_PRIVATE_CA });
    }
    const other = new Pop3SecurityError('rejected', {
      cause: withCode("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'),
    });
    expect(connectionHint(other, implicit)).toEqual({ reason: 'tls', hint: HINT_SERVERNAME });
  });

  it('a host that does not resolve: failed (dns), named as such rather than as a TLS failure', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      const cause = withCode(`getaddrinfo ${code} pop.example.invalid`, code, {
        hostname: 'pop.example.invalid',
      });
      const error = new Pop3ConnectionError(
        `TLS connection to pop.example.invalid:995 failed: ${cause.message}`,
        {
          cause,
        },
      );
      const classified = classifyFailure(error, implicit);
      expect(classified).toEqual({
        status: 'failed',
        reason: 'dns',
        message: `cannot resolve pop.example.invalid (${code}); ${HINT_DNS}`,
      });
    }
  });

  it('a refused connection is retried under its own reason (refused, for the circuit breaker) with a hint', () => {
    const error = new Pop3ConnectionError('cannot connect to x:110: connect ECONNREFUSED', {
      cause: withCode('connect ECONNREFUSED 127.0.0.1:110', 'ECONNREFUSED'),
    });
    expect(classifyFailure(error, plain)).toEqual({
      status: 'retry-later',
      reason: 'refused',
      message: `cannot connect to x:110: connect ECONNREFUSED; ${HINT_REFUSED}`,
    });
    // Without the connection's context (lib/cli/check.ts) it stays a network failure.
    expect(classifyFailure(error).reason).toBe('network');
  });

  it('a plain connection that gets no greeting, or TLS bytes, fails as tls (configuration), not as a timeout', () => {
    const silent = new Pop3TimeoutError('no greeting from x:995 within 15000 ms', { phase: 'greeting' });
    expect(classifyFailure(silent, plain)).toEqual({
      status: 'failed',
      reason: 'tls',
      message: `no greeting from x:995 within 15000 ms; ${HINT_EXPECTS_TLS}`,
    });
    expect(classifyFailure(silent, { ...plain, tls: 'starttls' }).reason).toBe('tls');
    // Implicit TLS that gets no greeting after its handshake is a slow server: retried.
    expect(classifyFailure(silent, implicit)).toMatchObject({ status: 'retry-later', reason: 'timeout' });
  });
});
