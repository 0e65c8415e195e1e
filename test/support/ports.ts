/**
 * Free TCP ports for servers that need a fixed port number in a config file (Dovecot). Servers we start
 * ourselves in Node listen on port 0 instead; this is only for processes that cannot report their port.
 */
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

/**
 * A port that was free a moment ago. Another process may take it before the caller binds it, so callers
 * must retry on EADDRINUSE (startDovecot does).
 */
export function findFreePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      if (address === null || typeof address === 'string') {
        probe.close();
        reject(new Error('probe server has no TCP address'));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

/** `count` distinct free ports. */
export async function findFreePorts(count: number, host: string = LOOPBACK): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort(host));
  return [...ports];
}
