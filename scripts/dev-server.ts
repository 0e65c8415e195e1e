/**
 * `npm run dev-server`: the next step after `npm run demo`. Starts a real POP3 server (Dovecot, the same
 * per-directory instance the tests use: test/support/dovecot.ts) with sample mail, and the S3 + SQS
 * emulator (fauxqs), writes a configuration for them, and prints the exact commands to poll it by hand,
 * locally or into S3 + SQS. Runs until Ctrl-C; press Enter to put the sample mail in again.
 *
 * Dovecot must be installed (`sudo apt-get install dovecot-pop3d`; as root it is installed for you) and
 * this must run as root: Dovecot's login processes run as other users.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { corpusAvailable, loadCorpus, toCrlf } from '../test/support/corpus.ts';
import { startDovecot } from '../test/support/dovecot.ts';
import { startFauxqs } from '../test/support/fauxqs.ts';

const USER = 'support';
const PASSWORD = 'dev-server-password';
const BUCKET = 'dev-mail';
const QUEUE = 'dev-mail-events';
/** Enough of the corpus to see progress and grouping, few enough to read a `-v` run. */
const CORPUS_MESSAGES = 40;

function sampleMail(): Buffer[] {
  const own = [1, 2, 3].map((n) =>
    Buffer.from(
      `From: Dev Server <dev@example.com>\r\nTo: ${USER}@example.com\r\nSubject: Sample message ${n}\r\n` +
        `Date: ${new Date().toUTCString()}\r\nMessage-ID: <dev-${Date.now()}-${n}@example.com>\r\n\r\n` +
        `Sample message ${n} from npm run dev-server.\r\n`,
    ),
  );
  const corpus = corpusAvailable()
    ? loadCorpus()
        .slice(0, CORPUS_MESSAGES)
        .map((message) => toCrlf(message.bytes))
    : [];
  return [...own, ...corpus];
}

async function run(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const dir = await mkdtemp(path.join(tmpdir(), 'mailbox-poller-dev-'));
  const [dovecot, aws] = await Promise.all([
    startDovecot({ users: [{ name: USER, password: PASSWORD }] }),
    startFauxqs(),
  ]);
  await aws.createBucket(BUCKET);
  const queueUrl = await aws.createQueue(QUEUE);
  const seed = async () => {
    const mail = sampleMail();
    await dovecot.seed(USER, mail);
    return mail.length;
  };
  const seeded = await seed();

  // The server certificate comes from a throw-away CA: trusted through caFile, as a company CA would be.
  await writeFile(path.join(dir, 'dev-ca.pem'), dovecot.caPem);
  const configFile = path.join(dir, 'mailboxes.json');
  const config = {
    mailboxes: [
      {
        id: 'support',
        host: dovecot.host,
        port: dovecot.pop3sPort,
        tls: 'implicit',
        caFile: 'dev-ca.pem',
        username: USER,
        password: { env: 'DEV_POP3_PASSWORD' },
      },
    ],
  };
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const awsEnv = Object.entries(aws.env)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ');
  const cli = 'npx mailbox-poller poll';
  process.stdout.write(
    [
      `POP3 (Dovecot): ${dovecot.host}:${dovecot.pop3sPort} implicit TLS, ${dovecot.host}:${dovecot.pop3Port} plain/STLS`,
      `  user ${USER}, password ${PASSWORD}, ${seeded} messages waiting`,
      `S3 + SQS (fauxqs): ${aws.endpoint}, bucket ${BUCKET}, queue ${queueUrl}`,
      '',
      `${configFile}:`,
      JSON.stringify(config, null, 2),
      '',
      'In another terminal (from this folder, after npm run build):',
      '',
      `  export DEV_POP3_PASSWORD=${PASSWORD}`,
      `  ${cli} --config ${configFile} --dry-run                       # what a run would do; changes nothing`,
      `  ${cli} --config ${configFile} --out ${path.join(dir, 'mail')} -v     # into local files, a line per message`,
      `  ${awsEnv} \\`,
      `    ${cli} --config ${configFile} --bucket ${BUCKET} --queue-url ${queueUrl} --trace`,
      '',
      `Press Enter to put the sample mail in again, Ctrl-C to stop (removes ${dir}).`,
      '',
    ].join('\n'),
  );

  const input = readline.createInterface({ input: process.stdin });
  input.on('line', () => {
    seed().then(
      (count) => process.stdout.write(`${count} more messages waiting for ${USER}\n`),
      (error: unknown) => console.error(error),
    );
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    input.once('close', () => undefined);
  });
  input.close();
  process.stdout.write('\nstopping\n');
  await Promise.all([dovecot.stop(), aws.stop()]);
  await rm(dir, { recursive: true, force: true });
}

run().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
