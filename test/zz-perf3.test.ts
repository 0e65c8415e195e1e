import { test } from 'vitest';
import { Pop3Client } from '../lib/pop3-client/client.ts';
import { startDovecot } from './support/dovecot.ts';
import { startMemoryPop3Server } from './support/memory-pop3-server.ts';

test('perf', async () => {
  const messages = Array.from({ length: 500 }, (_, i) =>
    Buffer.from(`Subject: ${i}\r\n\r\n${'x'.repeat(78)}\r\n`.repeat(250)),
  );
  const server = await startMemoryPop3Server({ users: [{ name: 'alice', password: 'secret', messages }] });
  const d = await startDovecot({ users: [{ name: 'alice', password: 'secret' }] });
  await d.seed('alice', messages);
  for (const [name, port] of [
    ['memory', server.port],
    ['dovecot', d.pop3Port],
  ] as const) {
    const t = performance.now();
    const c = await Pop3Client.connect({ host: '127.0.0.1', port, tls: 'none', allowInsecureAuth: true });
    await c.login({ kind: 'password', username: 'alice', password: 'secret' }, 'user');
    const list = await c.list();
    let bytes = 0;
    await Promise.all(
      list.map(async ({ msg }) => {
        for await (const ch of c.retr(msg)) bytes += ch.length;
      }),
    );
    await c.quit();
    console.log(name, 'ms', performance.now() - t, bytes);
  }
  await server.close();
  await d.stop();
});
