/**
 * Transcript tests: a POP3 conversation written the way RFC 1939 prints it, turned into script-server
 * steps plus the exact bytes the client must send.
 *
 *   const script = transcript(`
 *     S: +OK ready
 *     C: CAPA
 *     S: +OK
 *     S: USER
 *     S: .
 *   `);
 *
 * Consecutive `S:` lines go out in one write, so a multi-line reply arrives as one chunk. `C:` lines are
 * checked one by one as they arrive, and `clientBytes` is everything the client must have sent, CRLFs
 * included, to compare with the server's record once the conversation is over. `S: <tls>`, `S: <stall>`,
 * `S: <close>` and `S: <reset>` stand for the script server's special steps.
 */
import type { Readable } from 'node:stream';
import { afterEach } from 'vitest';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import type { Pop3ClientOptions } from '../../lib/pop3-client/options.ts';
import {
  type Script,
  type ScriptConnection,
  type ScriptServer,
  type ScriptStep,
  startScriptServer,
} from './script-server.ts';

export interface Transcript {
  readonly steps: ScriptStep[];
  /** Every `C:` line with its CRLF, in order: exactly what the server must receive. */
  readonly clientBytes: string;
}

const SPECIAL_STEPS: Record<string, ScriptStep> = {
  '<tls>': { startTls: true },
  '<stall>': { stall: true },
  '<close>': { close: true },
  '<reset>': { reset: true },
};

export function transcript(text: string): Transcript {
  const steps: ScriptStep[] = [];
  const client: string[] = [];
  let pendingSend: string[] = [];
  const flush = () => {
    if (pendingSend.length > 0) steps.push({ send: pendingSend.join('') });
    pendingSend = [];
  };
  for (const rawLine of text.split('\n')) {
    // Only the indentation goes: trailing spaces are part of what is said ("+ " is a SASL challenge).
    const line = rawLine.replace(/^\s+/, '');
    if (line === '') continue;
    const match = /^([SC]):(?: (.*))?$/.exec(line);
    if (match === null)
      throw new Error(`transcript line must start with "S:" or "C:": ${JSON.stringify(line)}`);
    const [, who, said = ''] = match;
    const special = who === 'S' ? SPECIAL_STEPS[said] : undefined;
    if (special !== undefined) {
      flush();
      steps.push(special);
    } else if (who === 'S') {
      pendingSend.push(`${said}\r\n`);
    } else {
      flush();
      steps.push({ expect: said });
      client.push(`${said}\r\n`);
    }
  }
  flush();
  return { steps, clientBytes: client.join('') };
}

/**
 * Plays the `S:`/`C:` steps of a transcript on a connection, for function scripts that go on with finer
 * control afterwards. A client line that differs throws, which fails the script.
 */
export async function play(conn: ScriptConnection, script: Transcript): Promise<void> {
  for (const step of script.steps) {
    if ('send' in step) {
      await conn.write(step.send);
    } else if ('expect' in step) {
      const line = await conn.readLine();
      if (line !== step.expect)
        throw new Error(`expected client line ${JSON.stringify(step.expect)}, got ${JSON.stringify(line)}`);
    } else {
      throw new Error('play() handles only S: and C: lines');
    }
  }
}

/** Starts script servers and closes every one of them after each test. */
export function scriptServers(): (script: Script) => Promise<ScriptServer> {
  const started: ScriptServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((server) => server.close()));
  });
  return async (script) => {
    const server = await startScriptServer(script);
    started.push(server);
    return server;
  };
}

/** alice logs in with USER/PASS on a server with no extensions worth mentioning. */
export const ALICE = { kind: 'password', username: 'alice', password: 'secret' } as const;
export const ALICE_LOGIN: Transcript = transcript(`
  S: +OK ready
  C: CAPA
  S: +OK
  S: USER
  S: .
  C: USER alice
  S: +OK
  C: PASS secret
  S: +OK
  C: CAPA
  S: +OK
  S: USER
  S: .
`);

/** A client on a plain connection to `server`; tests that need TLS or tighter limits pass `options`. */
export function connectTo(
  server: ScriptServer,
  options: Partial<Pop3ClientOptions> = {},
): Promise<Pop3Client> {
  return Pop3Client.connect({
    host: server.host,
    port: server.port,
    tls: 'none',
    allowInsecureAuth: true,
    timeouts: { greetingMs: 5_000, idleMs: 5_000 },
    ...options,
  });
}

/** Connects to `server` and logs alice in as ALICE_LOGIN expects. */
export async function connectAsAlice(
  server: ScriptServer,
  options: Partial<Pop3ClientOptions> = {},
): Promise<Pop3Client> {
  const client = await connectTo(server, options);
  await client.login(ALICE, 'user');
  return client;
}

/** Reads a message stream to its end. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The error a promise rejects with; fails the test when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The error a function throws synchronously; fails the test when it returns instead. */
export function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw, but it returned');
}

/** Base64 of a UTF-8 string: SASL payloads in transcripts stay readable in the test source. */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
