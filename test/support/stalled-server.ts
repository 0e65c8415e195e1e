/**
 * An HTTP server that accepts requests and never answers them: an AWS endpoint hanging at the worst
 * moment, for showing that calls are abandoned at the run's deadline instead of waiting.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StalledServer {
  readonly url: string;
  /** Requests received so far (none is ever answered). */
  requests(): number;
  /** Connections the client still holds open. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startStalledServer(): Promise<StalledServer> {
  let requests = 0;
  const server = http.createServer(() => {
    requests++;
  });
  let open = 0;
  server.on('connection', (socket) => {
    open++;
    socket.on('close', () => open--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    openConnections: () => open,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
