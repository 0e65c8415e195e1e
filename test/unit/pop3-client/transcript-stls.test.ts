/**
 * STLS (RFC 2595 §4): upgrade in place, verify the certificate, forget the plaintext capabilities.
 */
import { describe, expect, it } from 'vitest';
import { Pop3SecurityError } from '../../../lib/pop3/errors.ts';
import { testCertificates } from '../../support/certs.ts';
import { connectTo, rejectionOf, scriptServers, transcript } from '../../support/transcript.ts';

const startServer = scriptServers();

const UP_TO_STLS = `
  S: +OK ready
  C: CAPA
  S: +OK
  S: STLS
  S: SASL PLAIN
  S: .
  C: STLS
  S: +OK Begin TLS negotiation
`;

describe('STLS', () => {
  it('upgrades, re-reads CAPA under TLS, then logs in without allowInsecureAuth', async () => {
    const script = transcript(`
      ${UP_TO_STLS}
      S: <tls>
      C: CAPA
      S: +OK
      S: USER
      S: TOP
      S: .
      C: USER alice
      S: +OK
      C: PASS secret
      S: +OK
      C: CAPA
      S: +OK
      S: TOP
      S: .
      C: QUIT
      S: +OK
    `);
    const server = await startServer(script.steps);
    const client = await connectTo(server, {
      tls: 'starttls',
      ca: testCertificates().caPem,
      allowInsecureAuth: false,
    });
    expect(client.encrypted).toBe(true);
    expect(client.discardedBeforeTls).toBe(0);
    // RFC 2595 §4: what the server said before TLS is forgotten.
    expect(client.capabilities.stls).toBe(false);
    expect(client.capabilities.sasl).toEqual([]);
    expect(client.capabilities.user).toBe(true);

    await client.login({ kind: 'password', username: 'alice', password: 'secret' }, 'auto');
    expect(client.mechanism).toBe('USER');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });

  it('a certificate from an untrusted authority is refused', async () => {
    const server = await startServer(transcript(`${UP_TO_STLS}\n S: <tls>`).steps);
    const error = await rejectionOf(connectTo(server, { tls: 'starttls' }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect(error.message).toMatch(/certificate/);
  });

  it('a certificate for another name is refused', async () => {
    const server = await startServer(transcript(`${UP_TO_STLS}\n S: <tls>`).steps);
    const error = await rejectionOf(
      connectTo(server, { tls: 'starttls', ca: testCertificates().caPem, servername: 'mail.example.com' }),
    );
    expect(error).toBeInstanceOf(Pop3SecurityError);
  });

  it('-ERR to STLS does not fall back to plaintext', async () => {
    const script = transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: STLS
      S: .
      C: STLS
      S: -ERR [SYS/TEMP] TLS not available right now
    `);
    const server = await startServer(script.steps);
    const error = await rejectionOf(connectTo(server, { tls: 'starttls', ca: testCertificates().caPem }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
    expect(error.message).toMatch(/refused STLS/);
    await server.done;
    expect(server.received.toString('latin1')).toBe(script.clientBytes);
  });
});
