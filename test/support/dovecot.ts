/**
 * A real Dovecot POP3 server per test file. Each instance lives in its own temporary directory (config,
 * base_dir, state, log, certificates, maildirs) and listens on free loopback ports, so test files can run
 * in parallel. Dovecot runs in the foreground as our child, in its own process group, and is killed with
 * that group on stop() or when the test process exits, however it ends (see dovecot-process.ts).
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { testCertificates } from './certs.ts';
import {
  type Identities,
  identities,
  renderConfig,
  renderOAuth2Config,
  UNSECURED_HOST,
} from './dovecot-config.ts';
import {
  DIR_PREFIX,
  DOVECOT_BINARY,
  hasExited,
  launchDovecot,
  readFileOrEmpty,
  removeStaleInstances,
  terminateDovecot,
} from './dovecot-process.ts';
import { findFreePorts, LOOPBACK } from './ports.ts';

export { DEFAULT_UIDL_FORMAT } from './dovecot-config.ts';
export { DOVECOT_BINARY } from './dovecot-process.ts';

export interface DovecotUser {
  name: string;
  password: string;
}

export interface DovecotOptions {
  users?: DovecotUser[];
  /** `pop3_lock_session`: a second session for the same user gets `-ERR [IN-USE]`, but only after ~10 s. */
  pop3LockSession?: boolean;
  /** Appended verbatim to the generated dovecot.conf (later settings win). */
  extraConfig?: string;
  /** `disable_plaintext_auth`; only observable through `unsecuredHost`, see there. */
  disablePlaintextAuth?: boolean;
  /** `pop3_uidl_format`; defaults to DEFAULT_UIDL_FORMAT. */
  uidlFormat?: string;
  /**
   * Adds `xoauth2 oauthbearer` to auth_mechanisms and an `oauth2` passdb that asks this RFC 7662
   * introspection endpoint (POST) whether a token is active and for which user (test/support/token-endpoint.ts).
   */
  oauth2IntrospectionUrl?: string;
}

export interface DovecotServer {
  host: '127.0.0.1';
  /**
   * Dovecot treats a connection whose client address equals the server address as secured, so over
   * `host` plaintext logins always work. Connecting to this second loopback address makes the connection
   * count as insecure, which is what a remote client sees (`disable_plaintext_auth`, STLS-before-login).
   */
  unsecuredHost: '127.0.0.2';
  /** Plain POP3 with STLS. */
  pop3Port: number;
  /** Implicit TLS (POP3S). */
  pop3sPort: number;
  /** Trust anchor of the server certificate (CN/SAN localhost, SAN IP 127.0.0.1). */
  caPem: string;
  users: readonly DovecotUser[];
  /** Temporary directory with config, log, state and maildirs; removed by stop(). */
  directory: string;
  /** Dovecot master process id, also its process group id. */
  pid: number;
  /** Writes messages into the user's Maildir `new/`; Dovecot numbers them in the given order. */
  seed(user: string, messages: Buffer[]): Promise<void>;
  /** Messages currently in the user's Maildir (cur/ + new/). */
  messageCount(user: string): Promise<number>;
  /** Removes all messages; keeps Dovecot's uidlist so UIDs (and so UIDLs) are never reused. */
  clear(user: string): Promise<void>;
  /** Dovecot's log so far (logins, logouts, errors). */
  readLog(): string;
  stop(): Promise<void>;
}

export const DEFAULT_DOVECOT_USERS: readonly DovecotUser[] = [
  { name: 'alice', password: 'alice-pop3-password' },
  { name: 'bob', password: 'bob-pop3-password' },
];
const STARTUP_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;
const PORT_ATTEMPTS = 3;
const LOG_LINES_ON_FAILURE = 30;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENSURE_SCRIPT = path.join(repoRoot, 'scripts/ensure-dovecot.sh');

/** Installs Dovecot when running as root (CI, containers); otherwise says how to. */
export function ensureDovecotInstalled(): void {
  if (!fs.existsSync(DOVECOT_BINARY)) {
    if (process.getuid?.() !== 0) throw new Error('install Dovecot: sudo apt-get install dovecot-pop3d');
    execFileSync('bash', [ENSURE_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!fs.existsSync(DOVECOT_BINARY))
      throw new Error(`${ENSURE_SCRIPT} ran but ${DOVECOT_BINARY} is missing`);
  }
  // The generated configuration uses 2.3 syntax; 2.4 rejects it.
  installedVersion ??= execFileSync(DOVECOT_BINARY, ['--version'], { encoding: 'utf8' }).trim();
  if (!installedVersion.startsWith('2.3.'))
    throw new Error(`Dovecot 2.3.x required, found ${installedVersion}`);
}

let installedVersion: string | undefined;

export async function startDovecot(options: DovecotOptions = {}): Promise<DovecotServer> {
  ensureDovecotInstalled();
  const users = options.users ?? [...DEFAULT_DOVECOT_USERS];
  for (const user of users) {
    if (/[:\s]/.test(user.name) || /[:\r\n]/.test(user.password)) {
      throw new Error(
        `user ${JSON.stringify(user.name)}: passwd-file fields cannot contain ':' or line breaks`,
      );
    }
  }
  removeStaleInstances();
  const ids = identities();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  // Login and mail processes run as other users and must reach their sockets and homes below this dir.
  fs.chmodSync(dir, 0o755);
  const certs = testCertificates();
  fs.writeFileSync(path.join(dir, 'server.pem'), certs.certPem);
  fs.writeFileSync(path.join(dir, 'server.key'), certs.keyPem, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'passwd'), users.map((u) => `${u.name}:{PLAIN}${u.password}\n`).join(''));
  for (const sub of ['run', 'state']) fs.mkdirSync(path.join(dir, sub));
  // Homes and maildirs exist from the start and belong to the mail user, who cannot create them here.
  for (const user of users) {
    for (const sub of ['', 'Maildir', 'Maildir/cur', 'Maildir/new', 'Maildir/tmp']) {
      const folder = path.join(dir, 'home', user.name, sub);
      fs.mkdirSync(folder, { recursive: true });
      fs.chownSync(folder, ids.mailUid, ids.mailGid);
    }
  }

  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const [pop3Port, pop3sPort] = (await findFreePorts(2)) as [number, number];
    fs.writeFileSync(path.join(dir, 'dovecot.conf'), renderConfig(dir, ids, options, pop3Port, pop3sPort));
    if (options.oauth2IntrospectionUrl !== undefined) {
      fs.writeFileSync(
        path.join(dir, 'dovecot-oauth2.conf.ext'),
        renderOAuth2Config(options.oauth2IntrospectionUrl),
      );
    }
    fs.rmSync(path.join(dir, 'dovecot.log'), { force: true });
    const child = launchDovecot(dir);
    try {
      await waitUntilReady(child, pop3Port, pop3sPort, certs.caPem);
      return makeServer(dir, ids, users, child, pop3Port, pop3sPort, certs.caPem);
    } catch (error) {
      await terminateDovecot(child);
      const log = tail(readFileOrEmpty(path.join(dir, 'dovecot.log')), LOG_LINES_ON_FAILURE);
      lastError = new Error(`Dovecot did not start: ${(error as Error).message}\n${log}`);
      if (!/Address already in use/.test(log)) break;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitUntilReady(child: ChildProcess, pop3Port: number, pop3sPort: number, ca: string) {
  const giveUpAt = Date.now() + STARTUP_TIMEOUT_MS;
  for (const [port, secure] of [
    [pop3Port, false],
    [pop3sPort, true],
  ] as const) {
    for (;;) {
      if (hasExited(child)) {
        throw new Error(`dovecot exited (${child.exitCode ?? child.signalCode})`);
      }
      const greeting = await readGreeting(port, secure, ca).catch(() => undefined);
      if (greeting?.startsWith('+OK')) break;
      if (Date.now() > giveUpAt)
        throw new Error(`no +OK greeting on port ${port} within ${STARTUP_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }
}

function readGreeting(port: number, secure: boolean, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ host: LOOPBACK, port, ca, servername: 'localhost' })
      : net.connect({ host: LOOPBACK, port });
    socket.setTimeout(2_000, () => socket.destroy(new Error('greeting timeout')));
    socket.once('error', reject);
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString('latin1'));
    });
    socket.once('close', () => reject(new Error('closed before greeting')));
  });
}

function makeServer(
  dir: string,
  ids: Identities,
  users: DovecotUser[],
  child: ChildProcess,
  pop3Port: number,
  pop3sPort: number,
  caPem: string,
): DovecotServer {
  const maildir = (user: string) => {
    if (!users.some((u) => u.name === user)) throw new Error(`unknown Dovecot user ${user}`);
    return path.join(dir, 'home', user, 'Maildir');
  };
  // Dovecot numbers new/ files by the timestamp in their names, so consecutive seconds keep seed order.
  const firstSecond = Math.floor(Date.now() / 1000);
  let sequence = 0;
  let stopped: Promise<void> | undefined;

  return {
    host: LOOPBACK,
    unsecuredHost: UNSECURED_HOST,
    pop3Port,
    pop3sPort,
    caPem,
    users,
    directory: dir,
    pid: child.pid ?? -1,
    async seed(user, messages) {
      const root = maildir(user);
      for (const message of messages) {
        sequence++;
        const name = `${firstSecond + sequence}.M0P${process.pid}Q${sequence}.dovecot-harness`;
        // Maildir delivery: write in tmp/, then rename, so Dovecot never sees half a message.
        const staging = path.join(root, 'tmp', name);
        await fs.promises.writeFile(staging, message, { mode: 0o600 });
        await fs.promises.chown(staging, ids.mailUid, ids.mailGid);
        await fs.promises.rename(staging, path.join(root, 'new', name));
      }
    },
    async messageCount(user) {
      const root = maildir(user);
      let count = 0;
      for (const sub of ['cur', 'new']) count += (await listMessages(path.join(root, sub))).length;
      return count;
    },
    async clear(user) {
      const root = maildir(user);
      for (const sub of ['cur', 'new', 'tmp']) {
        for (const name of await listMessages(path.join(root, sub))) {
          await fs.promises.rm(path.join(root, sub, name), { force: true });
        }
      }
    },
    readLog: () => readFileOrEmpty(path.join(dir, 'dovecot.log')),
    stop() {
      stopped ??= (async () => {
        await terminateDovecot(child);
        await fs.promises.rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

async function listMessages(folder: string): Promise<string[]> {
  try {
    return (await fs.promises.readdir(folder)).filter((name) => !name.startsWith('.'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
