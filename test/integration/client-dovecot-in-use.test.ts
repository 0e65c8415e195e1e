/**
 * RFC 2449 §8.1.2 [IN-USE] from a real Dovecot: with pop3_lock_session a second session for the same
 * mailbox is refused while the first holds it. Dovecot waits for the lock before it answers (about 10 s),
 * so this file holds one such test and gives it the time.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Pop3ServerError } from '../../lib/pop3/errors.ts';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import type { Credentials } from '../../lib/ports.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const INTAKE = { name: 'intake', password: 'intake-pop3-password' };
const intake: Credentials = { kind: 'password', username: INTAKE.name, password: INTAKE.password };
/** Dovecot's lock wait (~10 s) plus the two sessions around it. */
const IN_USE_TEST_TIMEOUT_MS = 40_000;

let server: DovecotServer;

beforeAll(async () => {
  server = await startDovecot({ users: [INTAKE], pop3LockSession: true });
  await server.seed(INTAKE.name, [Buffer.from('Subject: invoice\r\n\r\nplease pay\r\n')]);
});

afterAll(async () => {
  await server?.stop();
});

function connect(): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: server.host,
    port: server.pop3sPort,
    tls: 'implicit',
    ca: server.caPem,
    servername: 'localhost',
  });
}

it(
  'a second session is refused with -ERR [IN-USE] while the first holds the mailbox, and may log in after it quits',
  async () => {
    const first = await connect();
    await first.login(intake);
    expect(await first.stat()).toMatchObject({ count: 1 });

    const second = await connect();
    const refusal = await second.login(intake).then(
      () => undefined,
      (error: unknown) => error,
    );
    second.abort();
    expect(refusal).toBeInstanceOf(Pop3ServerError);
    expect((refusal as Pop3ServerError).hasCode('IN-USE')).toBe(true);
    expect((refusal as Pop3ServerError).message).toContain('retry later');

    // The first session was not disturbed, and its QUIT releases the lock.
    expect(await first.stat()).toMatchObject({ count: 1 });
    expect(await first.quit()).toEqual({ confirmed: true, text: 'Logging out.' });
    const third = await connect();
    await third.login(intake);
    expect(await third.stat()).toMatchObject({ count: 1 });
    expect(await third.quit()).toMatchObject({ confirmed: true });
  },
  IN_USE_TEST_TIMEOUT_MS,
);
