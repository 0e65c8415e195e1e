/**
 * A plain connection to a port that speaks TLS first ends at once, named as such, instead of after the
 * 15 s greeting timeout (lib/pop3-client/tls-probe.ts); a plain server that is merely slow to greet is
 * still polled, and its session never sees the probe's bytes. Real Dovecot for the TLS port; a raw TCP
 * listener for the slow greeter.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Deadline } from '../../lib/deadline.ts';
import { HINT_EXPECTS_TLS } from '../../lib/pipeline/connection-hints.ts';
import { pollMailbox } from '../../lib/pipeline/poll-mailbox.ts';
import { Pop3SecurityError } from '../../lib/pop3/errors.ts';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import { isTlsRecordStart, tlsProbeClientHello } from '../../lib/pop3-client/tls-probe.ts';
import { answersWithTls } from '../../lib/pop3-client/transport.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { testMailbox } from '../support/mailbox.ts';
import { pipelineFixture } from '../support/pipeline-ports.ts';

const PASSWORD = 'probe-password-6620';
const { cleanups, ports } = pipelineFixture();
let dovecot: DovecotServer;

beforeAll(async () => {
  dovecot = await startDovecot({ users: [{ name: 'alice', password: PASSWORD }] });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
});

describe('TLS probe of a silent plain connection', () => {
  it('Dovecot answers the probe ClientHello with TLS on its implicit-TLS port, with a greeting on the plain one', async () => {
    expect(isTlsRecordStart(tlsProbeClientHello())).toBe(true);
    expect(await answersWithTls(dovecot.host, dovecot.pop3sPort, 5_000)).toBe(true);
    expect(await answersWithTls(dovecot.host, dovecot.pop3Port, 5_000)).toBe(false);
  });

  for (const tls of ['starttls', 'none'] as const) {
    it(`tls: ${tls} against the implicit-TLS port fails as tls within seconds, not after the greeting timeout`, async () => {
      const started = performance.now();
      const outcome = await pollMailbox(
        testMailbox({ port: dovecot.pop3sPort, tls, credential: { literal: PASSWORD } }),
        ports(),
        Deadline.after(30_000),
      );
      const seconds = (performance.now() - started) / 1000;
      expect(outcome).toMatchObject({ status: 'failed', reason: 'tls' });
      expect(outcome.message).toContain('expects TLS from the first byte');
      expect(outcome.message).toContain(HINT_EXPECTS_TLS);
      expect(seconds).toBeLessThan(5);
    });
  }

  it('a plain server that greets late is still polled; its own session never sees the probe', async () => {
    const firstBytes: string[] = [];
    const server = net.createServer((socket) => {
      let received = '';
      socket.on('data', (chunk: Buffer) => {
        if (received === '') firstBytes.push(chunk.subarray(0, 4).toString('latin1'));
        received += chunk.toString('latin1');
        if (received.includes('CAPA\r\n')) socket.write('+OK\r\nUSER\r\n.\r\n');
        if (received.includes('QUIT\r\n')) socket.end('+OK bye\r\n');
      });
      socket.on('error', () => undefined);
      setTimeout(() => socket.writable && socket.write('+OK slow greeter\r\n'), 2_500);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as net.AddressInfo).port;

    const client = await Pop3Client.connect({ host: '127.0.0.1', port, tls: 'none' });
    expect(client.greeting.text).toContain('slow greeter');
    await client.quit();
    // Two connections: the probe (which sent a ClientHello) and the session, whose first bytes were CAPA.
    expect(firstBytes.sort()).toEqual(['CAPA', '\x16\x03\x01\x00'].sort());
  });

  it('the probe error names the mistake for a caller of the client too', async () => {
    const failure = await Pop3Client.connect({
      host: dovecot.host,
      port: dovecot.pop3sPort,
      tls: 'none',
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Pop3SecurityError);
  });
});
