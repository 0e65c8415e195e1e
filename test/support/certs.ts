/**
 * A throw-away certificate authority and a server certificate for `localhost` / 127.0.0.1, made with the
 * openssl CLI once per test process and shared by Dovecot and the script server. The CA is separate from
 * the server certificate so clients verify a real chain, as they would in production.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificates {
  /** Trust anchor for clients (`ca` option). */
  readonly caPem: string;
  /** Server certificate, CN=localhost, SAN DNS:localhost + IP:127.0.0.1, signed by the CA. */
  readonly certPem: string;
  readonly keyPem: string;
}

/** Short-lived on purpose: these certificates never leave the test process. */
const VALIDITY_DAYS = '2';

let cached: TestCertificates | undefined;

export function testCertificates(): TestCertificates {
  cached ??= generateCertificates();
  return cached;
}

function generateCertificates(): TestCertificates {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pop3-test-certs-'));
  try {
    const file = (name: string) => path.join(dir, name);
    fs.writeFileSync(
      file('server.ext'),
      [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = DNS:localhost, IP:127.0.0.1',
        '',
      ].join('\n'),
    );
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(
      ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem')].concat(
        ['-days', VALIDITY_DAYS, '-subj', '/CN=mailbox-poller test CA'],
        ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      ),
    );
    openssl([
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=localhost',
    ]);
    openssl(
      ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key')].concat([
        '-CAcreateserial',
        '-days',
        VALIDITY_DAYS,
        '-extfile',
        file('server.ext'),
        '-out',
        file('server.pem'),
      ]),
    );
    return {
      caPem: fs.readFileSync(file('ca.pem'), 'utf8'),
      certPem: fs.readFileSync(file('server.pem'), 'utf8'),
      keyPem: fs.readFileSync(file('server.key'), 'utf8'),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} failed (is openssl installed?): ${stderr || String(error)}`);
  }
}
