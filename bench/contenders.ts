/**
 * The contenders: each drains one POP3 mailbox in its own process, and says how many messages it
 * delivered. mailbox-poller (to S3+SQS through the emulator, or to its local default), fetchmail and
 * getmail6 (to a Maildir), and the raw pipelined drain (to plain files).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildBundles } from './bundles.ts';
import { type ProcessRun, runMeasured } from './process-runner.ts';

/** Where a contender connects: Dovecot itself or the delaying proxy in front of it. */
export interface Pop3Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface Pop3Account {
  readonly user: string;
  readonly password: string;
}

/** S3 + SQS as the poller sees them (the counting proxy in front of the emulator). */
export interface AwsTarget {
  readonly env: Record<string, string>;
  readonly bucket: string;
  readonly queueUrl: string;
}

export type ContenderId =
  | 'poller-s3'
  | 'poller-local'
  | 'poller-discard'
  | 'fetchmail'
  | 'getmail'
  | 'raw-drain';

export interface ContenderRun {
  readonly process: ProcessRun;
  /** Folder the contender wrote to (Maildir, files, local store); S3 runs write to the emulator. */
  readonly outDir: string;
}

export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  run(endpoint: Pop3Endpoint, accounts: readonly Pop3Account[], workDir: string): Promise<ContenderRun>;
}

/** Generous: a contender that hangs fails the scenario instead of the whole benchmark. */
const CONTENDER_TIMEOUT_MS = 15 * 60_000;
/** Above the sweep's largest message, so the poller's default 100 MiB limit does not skip it. */
const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

export interface PollerSettings {
  readonly concurrency?: number;
  /** Extra node options for the child, e.g. `--cpu-prof`. */
  readonly nodeOptions?: readonly string[];
}

export function pollerContender(
  bundles: ChildBundles,
  aws: AwsTarget | undefined,
  settings: PollerSettings = {},
): Contender {
  return {
    id: aws ? 'poller-s3' : 'poller-local',
    label: aws ? 'mailbox-poller → S3+SQS' : 'mailbox-poller → local default',
    async run(endpoint, accounts, workDir) {
      const config = path.join(workDir, 'mailboxes.json');
      const outDir = path.join(workDir, 'out');
      fs.writeFileSync(config, JSON.stringify(pollerConfig(endpoint, accounts)));
      const destination = aws ? ['--bucket', aws.bucket, '--queue-url', aws.queueUrl] : ['--out', outDir];
      const concurrency =
        settings.concurrency === undefined ? [] : ['--concurrency', `${settings.concurrency}`];
      const measured = await runMeasured(
        process.execPath,
        [
          ...(settings.nodeOptions ?? []),
          bundles.poller,
          'poll',
          '--config',
          config,
          '--json',
          ...destination,
          ...concurrency,
        ],
        { env: { ...process.env, ...aws?.env }, cwd: workDir, timeoutMs: CONTENDER_TIMEOUT_MS },
      );
      return { process: measured, outDir };
    },
  };
}

function pollerConfig(endpoint: Pop3Endpoint, accounts: readonly Pop3Account[]) {
  return {
    mailboxes: accounts.map((account) => ({
      id: account.user,
      host: endpoint.host,
      port: endpoint.port,
      tls: 'none',
      allowInsecureAuth: true,
      username: account.user,
      password: account.password,
      limits: { maxMessageBytes: MAX_MESSAGE_BYTES, maxBytesPerRun: 4 * MAX_MESSAGE_BYTES },
    })),
  };
}

export function rawDrainContender(bundles: ChildBundles): Contender {
  return {
    id: 'raw-drain',
    label: 'raw pipelined RETR/DELE drain',
    async run(endpoint, [account], workDir) {
      const outDir = path.join(workDir, 'out');
      const measured = await runMeasured(
        process.execPath,
        [bundles.rawDrain, endpoint.host, `${endpoint.port}`, account!.user, account!.password, outDir],
        { timeoutMs: CONTENDER_TIMEOUT_MS },
      );
      return { process: measured, outDir };
    },
  };
}

/** Diagnostic, not a contender: the poller's client and pipeline with a store that keeps nothing. */
export function pollerDiscardContender(bundles: ChildBundles): Contender {
  return {
    id: 'poller-discard',
    label: 'mailbox-poller → discard (diagnostic)',
    async run(endpoint, [account], workDir) {
      const measured = await runMeasured(
        process.execPath,
        [bundles.pollerDiscard, endpoint.host, `${endpoint.port}`, account!.user, account!.password],
        { timeoutMs: CONTENDER_TIMEOUT_MS },
      );
      return { process: measured, outDir: workDir };
    },
  };
}

/**
 * fetchmail has no Maildir delivery of its own; the cheapest MDA is the shell it starts anyway plus
 * `cat` into new/ under the shell's unique pid. Opportunistic STLS is off (`sslproto ''`): plaintext, as
 * for every contender.
 */
export function fetchmailContender(): Contender {
  return {
    id: 'fetchmail',
    label: 'fetchmail → Maildir (MDA)',
    async run(endpoint, [account], workDir) {
      const maildir = makeMaildir(workDir);
      const rcfile = path.join(workDir, 'fetchmailrc');
      const rc = [
        'set no syslog',
        `poll ${endpoint.host} service ${endpoint.port} protocol POP3 auth password`,
        `  user "${account!.user}" there with password "${account!.password}" is root here`,
        `  nokeep fetchall sslproto '' mda "cat > ${maildir}/new/fetchmail.$$"`,
        '',
      ].join('\n');
      fs.writeFileSync(rcfile, rc, { mode: 0o600 });
      const measured = await runMeasured(
        'fetchmail',
        [
          '-f',
          rcfile,
          '--pidfile',
          path.join(workDir, 'fetchmail.pid'),
          '--idfile',
          path.join(workDir, 'ids'),
        ],
        { env: { ...process.env, HOME: workDir }, cwd: workDir, timeoutMs: CONTENDER_TIMEOUT_MS },
      );
      return { process: measured, outDir: path.join(maildir, 'new') };
    },
  };
}

/** getmail refuses to deliver as root, so as root it runs as `nobody`, in a work folder that user owns. */
export function getmailContender(): Contender {
  return {
    id: 'getmail',
    label: 'getmail6 → Maildir',
    async run(endpoint, [account], workDir) {
      const maildir = makeMaildir(workDir);
      const rc = [
        '[retriever]',
        'type = SimplePOP3Retriever',
        `server = ${endpoint.host}`,
        `port = ${endpoint.port}`,
        `username = ${account!.user}`,
        `password = ${account!.password}`,
        // Also how long getmail waits for a delivery child: when it misses the child's exit (it does, now
        // and then) the run fails after this long instead of the default 180 s.
        'timeout = 30',
        '',
        '[destination]',
        'type = Maildir',
        `path = ${maildir}/`,
        '',
        '[options]',
        'delete = true',
        'read_all = true',
        'verbose = 0',
        'message_log_syslog = false',
        '',
      ].join('\n');
      const rcfile = path.join(workDir, 'getmailrc');
      fs.writeFileSync(rcfile, rc, { mode: 0o600 });
      const user = unprivilegedUser();
      if (user) chownTree(workDir, user);
      const measured = await runMeasured('getmail', [`--rcfile=${rcfile}`, `--getmaildir=${workDir}`], {
        env: { ...process.env, HOME: workDir },
        cwd: workDir,
        timeoutMs: CONTENDER_TIMEOUT_MS,
        ...(user ? { user } : {}),
      });
      return { process: measured, outDir: path.join(maildir, 'new') };
    },
  };
}

function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function chownTree(folder: string, user: { uid: number; gid: number }): void {
  fs.chownSync(folder, user.uid, user.gid);
  for (const entry of fs.readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    fs.chownSync(path.join(folder, entry), user.uid, user.gid);
  }
}

function makeMaildir(workDir: string): string {
  const maildir = path.join(workDir, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
  return maildir;
}
