/**
 * `npm run demo`: the whole product on one machine, with no AWS account and no mail server.
 *
 * Starts an in-memory POP3 maildrop holding five sample messages and an in-process S3 + SQS emulator
 * (fauxqs), runs the real CLI against them (`mailbox-poller poll --bucket ... --queue-url ...`), and then
 * checks the promise: every message stored byte-for-byte (SHA-256 compared with the original), exactly
 * one notification per message pointing at its object, and the mailbox empty. Exits non-zero if any
 * check fails; closes everything it started so the process ends by itself.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../lib/cli/main.ts';
import { type Fauxqs, startFauxqs } from '../test/support/fauxqs.ts';
import { startMemoryPop3Server } from '../test/support/memory-pop3-server.ts';

// The SDK warns on Node 20 about its releases from 2027 on; that note is noise in a demo of this product.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USER = 'demo@example.com';
const PASSWORD = 'demo-password';
const BUCKET = 'demo-mail';
const QUEUE = 'demo-mail-events';

/** Sample messages, CRLF line ends as on the wire. Each shows something that must survive unchanged. */
const SAMPLES: readonly { readonly what: string; readonly bytes: Buffer }[] = [
  {
    what: 'plain text',
    bytes: crlf(`From: Ada Lovelace <ada@example.com>
To: support@example.com
Subject: Printer on floor 3 is jammed again
Date: Mon, 3 Mar 2025 09:15:00 +0000
Message-ID: <demo-1@example.com>

Hello support,
the printer next to the kitchen is jammed again.
Ada
`),
  },
  {
    what: 'RFC 2047 encoded subject',
    bytes: crlf(`From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.de>
To: invoices@example.com
Subject: =?UTF-8?B?UmVjaG51bmcgTnIuIDQyIOKAkyBNw6RyeiAyMDI1?=
Date: Tue, 4 Mar 2025 10:00:00 +0100
Message-ID: <demo-2@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Invoice 42 is attached in spirit.
`),
  },
  {
    what: '8-bit UTF-8 body',
    bytes: crlf(`From: Zoë <zoe@example.fr>
To: support@example.com
Subject: Grüße aus Köln
Date: Wed, 5 Mar 2025 11:30:00 +0100
Message-ID: <demo-3@example.fr>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Schöne Grüße, ça va? 日本語も大丈夫です。
`),
  },
  {
    what: 'lines that start with a dot',
    bytes: crlf(`From: Grace Hopper <grace@example.com>
To: archive@example.com
Subject: Lines starting with dots
Date: Thu, 6 Mar 2025 12:00:00 +0000
Message-ID: <demo-4@example.com>

The next line is a single dot, which POP3 must stuff and unstuff:
.
..two dots
.hidden file name
`),
  },
  {
    what: 'multipart with an attachment',
    bytes: crlf(`From: Scanner <scanner@example.com>
To: invoices@example.com, archive@example.com
Subject: Scanned document
Date: Fri, 7 Mar 2025 13:45:00 +0000
Message-ID: <demo-5@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

One page attached.
--b1
Content-Type: application/octet-stream; name="page.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
--b1--
`),
  },
];

function crlf(text: string): Buffer {
  return Buffer.from(text.replaceAll('\n', '\r\n'), 'utf8');
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The parts of a notification (docs/notification.md) the demo prints. */
interface NotificationBody {
  readonly mail?: {
    readonly commonHeaders?: { readonly subject?: string; readonly from?: readonly string[] };
  };
  readonly receipt?: { readonly action?: { readonly objectKey?: string } };
}

/** Prints one check and remembers whether it failed. */
class Checks {
  failed = 0;
  check(ok: boolean, text: string): void {
    if (!ok) this.failed++;
    console.log(`  ${ok ? 'ok  ' : 'FAIL'}  ${text}`);
  }
}

async function runDemo(): Promise<number> {
  const pop3 = await startMemoryPop3Server({
    users: [{ name: USER, password: PASSWORD, messages: SAMPLES.map((sample) => sample.bytes) }],
  });
  const aws = await startFauxqs();
  const workDir = await mkdtemp(path.join(tmpdir(), 'mailbox-poller-demo-'));
  try {
    // The CLI builds its SDK clients from the environment, as it would on a real machine.
    Object.assign(process.env, aws.env);
    await aws.createBucket(BUCKET);
    const queueUrl = await aws.createQueue(QUEUE);
    const configPath = path.join(workDir, 'config.json');
    await writeFile(configPath, JSON.stringify(demoConfig(pop3.host, pop3.port), null, 2));

    console.log(`POP3 maildrop ${USER} at ${pop3.host}:${pop3.port} holds ${SAMPLES.length} messages.`);
    console.log(`S3 + SQS emulator at ${aws.endpoint}: bucket ${BUCKET}, queue ${queueUrl}\n`);
    console.log(`$ mailbox-poller poll --config ${configPath} --bucket ${BUCKET} --queue-url ${queueUrl}`);
    const status = await main(['poll', '--config', configPath, '--bucket', BUCKET, '--queue-url', queueUrl]);

    const checks = new Checks();
    checks.check(status === 0, `the CLI exited with ${status}`);
    await reportStored(aws, checks);
    await reportQueued(aws, queueUrl, checks);
    console.log('\nMailbox:');
    const left = pop3.messages(USER).length;
    checks.check(left === 0, `the mailbox is now empty (${left} messages left on the server)`);

    console.log(checks.failed === 0 ? '\nDemo passed.' : `\nDemo FAILED: ${checks.failed} checks failed.`);
    return checks.failed === 0 ? 0 : 1;
  } finally {
    await pop3.close();
    await aws.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

function demoConfig(host: string, port: number) {
  return {
    mailboxes: [
      // Plain TCP to a server on this machine; a real mailbox would use "tls": "implicit".
      { id: 'support', host, port, tls: 'none', allowInsecureAuth: true, username: USER, password: PASSWORD },
    ],
  };
}

async function reportStored(aws: Fauxqs, checks: Checks): Promise<void> {
  const originals = new Map(SAMPLES.map((sample, index) => [sha256(sample.bytes), index]));
  // The mailbox's health record (`.health/support.json`, docs/running.md) sits beside the messages.
  const keys = (await aws.listKeys(BUCKET)).filter((key) => !key.startsWith('.health/'));
  console.log(`\nStored in s3://${BUCKET}/ (each object's SHA-256 compared with the original message):`);
  const matched = new Set<number>();
  for (const key of keys) {
    const bytes = await aws.getObject(BUCKET, key);
    const index = originals.get(sha256(bytes));
    if (index !== undefined) matched.add(index);
    const verdict =
      index === undefined ? 'matches no original' : `= message ${index + 1}, ${SAMPLES[index]!.what}`;
    checks.check(index !== undefined, `${key}  ${bytes.length} bytes  ${verdict}`);
  }
  checks.check(
    keys.length === SAMPLES.length && matched.size === SAMPLES.length,
    `${keys.length} objects for ${SAMPLES.length} messages, each stored byte-for-byte exactly once`,
  );
}

async function reportQueued(aws: Fauxqs, queueUrl: string, checks: Checks): Promise<void> {
  const messages = await aws.receiveAll(queueUrl);
  const storedKeys = new Set(await aws.listKeys(BUCKET));
  const notifiedKeys = new Set<string>();
  console.log(`\nQueued on ${QUEUE} (subject, from, object key):`);
  const notifications = messages.map((message) => JSON.parse(message.Body ?? '{}') as NotificationBody);
  for (const { mail, receipt } of notifications.sort(byObjectKey)) {
    const subject = mail?.commonHeaders?.subject ?? '(no subject)';
    const from = (mail?.commonHeaders?.from ?? []).join(', ');
    const objectKey = receipt?.action?.objectKey ?? '(none)';
    notifiedKeys.add(objectKey);
    checks.check(storedKeys.has(objectKey), `"${subject}"  from ${from}  ->  ${objectKey}`);
  }
  checks.check(
    messages.length === SAMPLES.length && notifiedKeys.size === SAMPLES.length,
    `${messages.length} notifications for ${SAMPLES.length} messages, one per stored object`,
  );
}

function byObjectKey(a: NotificationBody, b: NotificationBody): number {
  return String(a.receipt?.action?.objectKey).localeCompare(String(b.receipt?.action?.objectKey));
}

process.exitCode = await runDemo();
