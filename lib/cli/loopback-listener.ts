/**
 * The one-time listener on 127.0.0.1 that the browser returns to at the end of a Google sign-in
 * (`mailbox-poller oauth login`, authorization code with PKCE and a loopback redirect, RFC 8252 §7.3).
 *
 * Any program on the machine can reach its port. It waits for the request to `/` that carries this
 * sign-in's `state` (RFC 6749 §10.12) and turns every other one away: another path gets 404, `/` without
 * the right state 400, and it goes on waiting until the right one comes or the timeout. So a stray or
 * hostile request can neither end the sign-in nor slip in a code of its own, and stderr says what came.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CliIo } from './io.ts';

/** Nobody finished the sign-in within --timeout: the message is the whole story, not a token problem. */
export class LoginTimeoutError extends Error {
  override readonly name = 'LoginTimeoutError';
}

export const NOBODY_SIGNED_IN = 'nobody completed the sign-in in time (--timeout)';

/**
 * At most this many requests that are not the sign-in's answer are reported on stderr: a program that
 * floods the port must not bury the address the person has to open.
 */
const MAX_REPORTED_STRAY_REQUESTS = 5;

/** Listens on 127.0.0.1 (never a public interface); `url` is the browser's return, with the code. */
export async function listenForCallback(
  signal: AbortSignal,
  state: string,
  io: CliIo,
): Promise<{ redirectUri: string; url: Promise<URL>; close(): void }> {
  let resolve!: (url: URL) => void;
  let reject!: (error: Error) => void;
  const url = new Promise<URL>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let strays = 0;
  const server: Server = createServer((request, response) => {
    const received = new URL(request.url ?? '/', redirectUri);
    if (received.pathname !== '/') {
      // A browser also asks for /favicon.ico: not worth a line.
      response.writeHead(404).end();
      return;
    }
    if (received.searchParams.get('state') !== state) {
      strays++;
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      response.end('mailbox-poller: this is not the answer to the sign-in that is waiting here.\n');
      if (strays > MAX_REPORTED_STRAY_REQUESTS) return;
      const last = strays === MAX_REPORTED_STRAY_REQUESTS ? ' (further ones are not reported)' : '';
      io.stderr.write(
        `mailbox-poller: ignored a request to ${redirectUri} without this sign-in's state (from another ` +
          `program on this machine?); still waiting for the browser${last}\n`,
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    response.end('mailbox-poller: sign-in received. You can close this window.\n');
    resolve(received);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', res);
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const onAbort = () => {
    const ignored = strays === 0 ? '' : ` (${strays} request(s) without this sign-in's state were ignored)`;
    reject(new LoginTimeoutError(`${NOBODY_SIGNED_IN}${ignored}`));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return {
    redirectUri,
    url,
    close: () => {
      signal.removeEventListener('abort', onAbort);
      server.closeAllConnections();
      server.close();
    },
  };
}
