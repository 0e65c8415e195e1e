/**
 * A mailbox `ca` adds to what the process already trusts: Node's roots AND the certificates named by
 * NODE_EXTRA_CA_CERTS. Passing `ca` to Node's TLS replaces both, so the transport puts them back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { Pop3SecurityError } from '../../lib/pop3/errors.ts';
import { testCertificates } from '../support/certs.ts';
import type { ScriptServer } from '../support/script-server.ts';
import { connectTo, rejectionOf, scriptServers, transcript } from '../support/transcript.ts';

const startServer = scriptServers();
const saved = process.env.NODE_EXTRA_CA_CERTS;

afterEach(() => {
  if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
  else process.env.NODE_EXTRA_CA_CERTS = saved;
});

/** A STLS server whose certificate is signed by the test CA; it answers CAPA after TLS, then QUIT. */
function stlsServer(): Promise<ScriptServer> {
  return startServer(
    transcript(`
      S: +OK ready
      C: CAPA
      S: +OK
      S: STLS
      S: .
      C: STLS
      S: +OK Begin TLS
      S: <tls>
      C: CAPA
      S: +OK
      S: IMPLEMENTATION verified
      S: .
      C: QUIT
      S: +OK
    `).steps,
  );
}

/** A CA that did not sign the server's certificate: any public root will do. */
const unrelatedCa = tls.rootCertificates[0]!;

function extraCertsFile(pem: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'extra-ca-'));
  const file = path.join(dir, 'extra.pem');
  fs.writeFileSync(file, pem);
  return file;
}

describe('mailbox ca and NODE_EXTRA_CA_CERTS', () => {
  it('the signing CA given as the mailbox ca is trusted', async () => {
    delete process.env.NODE_EXTRA_CA_CERTS;
    const server = await stlsServer();
    const client = await connectTo(server, { tls: 'starttls', ca: testCertificates().caPem });
    expect(client.encrypted).toBe(true);
    expect(client.capabilities.implementation).toBe('verified');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
  });

  it('the signing CA given only through NODE_EXTRA_CA_CERTS is still trusted when the mailbox ca is another CA', async () => {
    process.env.NODE_EXTRA_CA_CERTS = extraCertsFile(testCertificates().caPem);
    const server = await stlsServer();
    const client = await connectTo(server, { tls: 'starttls', ca: unrelatedCa });
    expect(client.encrypted).toBe(true);
    expect(client.capabilities.implementation).toBe('verified');
    expect((await client.quit()).confirmed).toBe(true);
    await server.done;
  });

  it('with neither, the certificate is rejected (the check is real)', async () => {
    process.env.NODE_EXTRA_CA_CERTS = extraCertsFile(unrelatedCa);
    const server = await startServer(
      transcript(`
        S: +OK ready
        C: CAPA
        S: +OK
        S: STLS
        S: .
        C: STLS
        S: +OK Begin TLS
        S: <tls>
      `).steps,
    );
    const error = await rejectionOf(connectTo(server, { tls: 'starttls', ca: unrelatedCa }));
    expect(error).toBeInstanceOf(Pop3SecurityError);
  });
});
