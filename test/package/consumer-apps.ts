/**
 * The apps of packed-tarball.test.ts: code a user of the package writes, with the import lines the
 * README documents. Messages and the mailbox they are drained from.
 */

/** Seeded into Dovecot; CRLF throughout, as RETR returns them. The Japanese subject needs libmime. */
export const MESSAGES = [
  Buffer.from('From: a@example.com\r\nSubject: first\r\n\r\nhello\r\n'),
  Buffer.from('From: b@example.com\r\nSubject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\r\n\r\n.\r\n..dots\r\n'),
  Buffer.concat([Buffer.from('Subject: binary\r\n\r\n'), Buffer.from([0xff, 0x00, 0xe9, 0x0d, 0x0a])]),
];

/** A mailbox entry for the configuration file, its password from the environment. */
export function mailboxEntry(port: number, username: string) {
  return {
    id: username,
    host: '127.0.0.1',
    port,
    tls: 'none',
    allowInsecureAuth: true,
    username,
    password: { env: 'POP3_PASSWORD' },
  };
}

/** The one line the README's Install section documents. */
export const IMPORT_LINE = "import { MailboxIngestion } from 'mailbox-poller/cdk';";

const CONSTRUCT = `new MailboxIngestion(this, 'Mail', {
      mailboxes: [
        {
          id: 'support',
          host: 'pop.example.com',
          tls: 'implicit',
          username: 'support@example.com',
          password: { secretId: 'mailbox-poller/support' },
        },
      ],
      outputs: true,
    });`;

/** The stack file `cdk init app --language typescript` wrote, with the construct added. */
export function withConstruct(stackFile: string): string {
  const importAnchor = "import { Construct } from 'constructs';";
  const bodyAnchor = '// The code that defines your stack goes here';
  if (!stackFile.includes(importAnchor) || !stackFile.includes(bodyAnchor)) {
    throw new Error(`the cdk init template changed; its stack file is now:\n${stackFile}`);
  }
  return stackFile
    .replace(importAnchor, `${importAnchor}\n${IMPORT_LINE}`)
    .replace(bodyAnchor, `${bodyAnchor}\n    ${CONSTRUCT}`);
}

/** The tsconfig of `cdk init app --language typescript` before it moved to NodeNext. */
export const OLDER_TEMPLATE_TSCONFIG = {
  compilerOptions: {
    target: 'ES2020',
    module: 'commonjs',
    lib: ['es2020', 'dom'],
    declaration: true,
    strict: true,
    noImplicitAny: true,
    strictNullChecks: true,
    noImplicitThis: true,
    alwaysStrict: true,
    noImplicitReturns: true,
    inlineSourceMap: true,
    inlineSources: true,
    experimentalDecorators: true,
    strictPropertyInitialization: false,
    typeRoots: ['../node_modules/@types'],
    types: ['node'],
    noEmit: true,
    // Only module resolution is in question here; the ESM app checks the package's .d.ts files.
    skipLibCheck: true,
  },
  include: ['*.ts'],
};

export const ESM_TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    resolveJsonModule: true,
    // The package's .d.ts files are checked too (and aws-cdk-lib's, which they refer to).
    skipLibCheck: false,
    noEmit: true,
  },
  include: ['bin'],
};

/** bin/app.ts of the ESM app: the construct, its public members typed as the docs say. */
export const ESM_APP = `import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
${IMPORT_LINE}

const app = new App();
const stack = new Stack(app, 'EsmMail');
const ingestion = new MailboxIngestion(stack, 'Mail', {
  mailboxes: [
    {
      id: 'support',
      host: 'pop.example.com',
      tls: 'implicit',
      username: 'support@example.com',
      password: { secretId: 'mailbox-poller/support' },
    },
  ],
});
const poll: lambda.Function = ingestion.pollFunction;
poll.addEnvironment('EXTRA', 'set by the app');
app.synth();
`;

/**
 * bin/library.ts of the ESM app: the library API drains a mailbox into memory; the notification types
 * and the JSON Schema come from their own entry points. Prints what it stored and notified.
 */
export const ESM_LIBRARY = `import { createHash } from 'node:crypto';
import {
  type CredentialsProvider,
  Deadline,
  type MessageStore,
  type Notifier,
  parseConfig,
  pollMailbox,
  Pop3ServerError,
  systemClock,
} from 'mailbox-poller';
import type { ReceivedNotification } from 'mailbox-poller/notification';
import schema from 'mailbox-poller/schema/notification.schema.json' with { type: 'json' };

const stored: string[] = [];
const notifications: ReceivedNotification[] = [];
const store: MessageStore = {
  async put(message) {
    const chunks: Buffer[] = [];
    for await (const chunk of message.body) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    stored.push(bytes.toString('base64'));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return { key: sha256, location: 'memory', sha256, size: bytes.length, created: true };
  },
};
const notifier: Notifier = {
  maxBatchSize: 10,
  async send(batch) {
    notifications.push(...batch.map((entry) => JSON.parse(entry.body) as ReceivedNotification));
    return batch.map((entry) => ({ entryId: entry.entryId, ok: true as const }));
  },
};
const credentials: CredentialsProvider = {
  async resolve(ref, username) {
    const password = 'env' in ref ? process.env[ref.env] : 'literal' in ref ? ref.literal : undefined;
    if (password === undefined) throw new Error('no password');
    return { kind: 'password', username, password };
  },
};

const config = parseConfig(JSON.parse(process.argv[2]!));
const outcome = await pollMailbox(
  config.mailboxes[0]!,
  { store, notifier, credentials, clock: systemClock },
  Deadline.after(30_000),
);
process.stdout.write(
  JSON.stringify({
    status: outcome.status,
    stored,
    subjects: notifications.map((n) => n.mail.commonHeaders.subject ?? null),
    schemaTitle: (schema as { title?: string }).title ?? null,
    errorName: new Pop3ServerError('[IN-USE] busy').name,
  }),
);
`;
