/**
 * `mailbox-poller demo [--out DIR]`: the whole job on this machine, from the installed package alone: no
 * mail server, no AWS account, no configuration file of the user's.
 *
 * Starts the sample maildrop (lib/demo/sample-maildrop.ts: a POP3 server in this process holding five
 * sample messages), polls it with the real `poll` command into the local default (objects as files,
 * notifications.jsonl) in a new temporary folder or in --out, and then checks the promise on what was
 * written: every message stored byte-for-byte (SHA-256 compared with the original) exactly once, one
 * notification per message naming its stored object and that object's digest, and the mailbox empty,
 * because DELE came only after both and QUIT committed it. The files are left for the user to look at.
 *
 * Exit status: 0 every check passed, 1 a check failed, 2 usage error (or --out is a folder with files in
 * it: a second run's notifications would be appended to the first's and the counts would no longer say
 * anything).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSampleMaildrop } from '../demo/sample-maildrop.ts';
import { SAMPLE_MESSAGES } from '../demo/sample-messages.ts';
import { usageProblem } from './args.ts';
import type { CliIo } from './io.ts';
import { usageErrorText } from './usage-line.ts';

export const DEMO_USAGE = `Usage: mailbox-poller demo [--out DIR]

Polls a sample POP3 maildrop started in this process (five messages) into local files, then checks
that every message was stored byte-for-byte exactly once, notified once, and deleted from the server.
Needs no mail server and no AWS account.

Options:
  --out DIR    where the objects and notifications.jsonl go; a new or empty folder
               (default: a new temporary folder, printed at the end)
Exit status: 0 every check passed, 1 a check failed, 2 usage error.`;

const MAILBOX_ID = 'support';
const USER = 'demo@example.com';
/** The sample maildrop's own password; it listens on 127.0.0.1 only and ends with the command. */
const PASSWORD = 'demo-password';

/** Runs the CLI with these arguments; resolves with its exit status (lib/cli/main.ts `main`). */
export type CliRunner = (argv: readonly string[], io: CliIo) => Promise<number>;

/** The parts of a notification (docs/notification.md) the demo checks and prints. */
interface NotificationBody {
  readonly mail?: { readonly commonHeaders?: { readonly subject?: string; readonly from?: string[] } };
  readonly receipt?: { readonly action?: { readonly objectKey?: string } };
  readonly pop3?: { readonly sha256?: string };
}

/** Prints one check and counts the failed ones. */
class Checks {
  failed = 0;
  constructor(private readonly io: CliIo) {}
  check(ok: boolean, text: string): void {
    if (!ok) this.failed++;
    this.io.stdout.write(`  ${ok ? 'ok  ' : 'FAIL'}  ${text}\n`);
  }
}

export async function demoMain(argv: readonly string[], io: CliIo, runCli: CliRunner): Promise<number> {
  let outDir: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    });
    if (values.help) {
      io.stdout.write(`${DEMO_USAGE}\n`);
      return 0;
    }
    outDir = values.out === undefined ? undefined : path.resolve(values.out);
    if (outDir !== undefined && existsSync(outDir) && readdirSync(outDir).length > 0) {
      throw new Error(`--out ${outDir} has files in it; name a new or empty folder`);
    }
  } catch (error) {
    io.stderr.write(usageErrorText('demo', usageProblem(error, DEMO_USAGE)));
    return 2;
  }
  const out = outDir ?? (await mkdtemp(path.join(tmpdir(), 'mailbox-poller-demo-')));
  await mkdir(out, { recursive: true });
  const configDir = await mkdtemp(path.join(tmpdir(), 'mailbox-poller-demo-config-'));
  const maildrop = await startSampleMaildrop({
    user: USER,
    password: PASSWORD,
    messages: SAMPLE_MESSAGES.map((sample) => sample.bytes),
  });
  try {
    const configPath = path.join(configDir, 'config.json');
    await writeFile(configPath, JSON.stringify(demoConfig(maildrop.host, maildrop.port), null, 2));
    io.stdout.write(
      `A POP3 maildrop for ${USER} at ${maildrop.host}:${maildrop.port} (in this process) holds ` +
        `${SAMPLE_MESSAGES.length} sample messages.\n\n$ mailbox-poller poll --config ${configPath} --out ${out}\n`,
    );
    const status = await runCli(['poll', '--config', configPath, '--out', out], io);

    const checks = new Checks(io);
    checks.check(status === 0, `the poll exited with ${status}`);
    await checkStored(out, checks, io);
    await checkNotified(out, checks, io);
    io.stdout.write('\nMailbox:\n');
    const left = maildrop.remaining().length;
    checks.check(left === 0, `the mailbox is now empty (${left} messages left on the server)`);
    io.stdout.write(
      checks.failed === 0
        ? `\nDemo passed. The stored messages and notifications.jsonl are in ${out}\n`
        : `\nDemo FAILED: ${checks.failed} checks failed. What was written is in ${out}\n`,
    );
    return checks.failed === 0 ? 0 : 1;
  } finally {
    await maildrop.close();
    await rm(configDir, { recursive: true, force: true });
  }
}

function demoConfig(host: string, port: number) {
  return {
    mailboxes: [
      // Plain TCP to a server in this process; a real mailbox would use "tls": "implicit".
      {
        id: MAILBOX_ID,
        host,
        port,
        tls: 'none',
        allowInsecureAuth: true,
        username: USER,
        password: PASSWORD,
      },
    ],
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The message objects under `out`, as keys (`support/uidl/<UIDL>/<sha256>.eml`, docs/object-keys.md). */
function storedKeys(out: string): string[] {
  return readdirSync(out, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.eml'))
    .map((entry) => path.relative(out, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function checkStored(out: string, checks: Checks, io: CliIo): Promise<void> {
  const originals = new Map(SAMPLE_MESSAGES.map((sample, index) => [sha256(sample.bytes), index]));
  const keys = storedKeys(out);
  io.stdout.write(`\nStored in ${out} (each file's SHA-256 compared with the original message):\n`);
  const matched = new Set<number>();
  for (const key of keys) {
    const bytes = await readFile(path.join(out, key));
    const index = originals.get(sha256(bytes));
    if (index !== undefined) matched.add(index);
    const verdict =
      index === undefined ? 'matches no original' : `= message ${index + 1}, ${SAMPLE_MESSAGES[index]!.what}`;
    checks.check(index !== undefined, `${key}  ${bytes.length} bytes  ${verdict}`);
  }
  const count = SAMPLE_MESSAGES.length;
  checks.check(
    keys.length === count && matched.size === count,
    `${keys.length} objects for ${count} messages, each stored byte-for-byte exactly once`,
  );
}

async function checkNotified(out: string, checks: Checks, io: CliIo): Promise<void> {
  const file = path.join(out, 'notifications.jsonl');
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  const notifications = text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as NotificationBody);
  io.stdout.write(`\nNotified in ${file} (subject, from, object key):\n`);
  const notifiedKeys = new Set<string>();
  for (const { mail, receipt, pop3 } of notifications) {
    const subject = mail?.commonHeaders?.subject ?? '(no subject)';
    const from = (mail?.commonHeaders?.from ?? []).join(', ');
    const key = receipt?.action?.objectKey ?? '(none)';
    notifiedKeys.add(key);
    const object = path.join(out, ...key.split('/'));
    // The notification names the object and its digest: both must be what is on disk.
    const intact = existsSync(object) && sha256(await readFile(object)) === pop3?.sha256;
    checks.check(intact, `"${subject}"  from ${from}  ->  ${key}`);
  }
  const count = SAMPLE_MESSAGES.length;
  checks.check(
    notifications.length === count && notifiedKeys.size === count,
    `${notifications.length} notifications for ${count} messages, one per stored object`,
  );
}
