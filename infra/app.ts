/**
 * Sample app: one stack with a MailboxIngestion for two mailboxes. Synthesizes offline with no account
 * (`npm run synth`); set CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (the CDK CLI does) to deploy.
 *
 * The mailbox list can also come from a JSON file: MAILBOX_CONFIG=path/to/config.json npm run synth
 */
import { readFileSync } from 'node:fs';
import { App, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { type MailboxEntry, MailboxIngestion } from './mailbox-ingestion.ts';

const SAMPLE_MAILBOXES: readonly MailboxEntry[] = [
  {
    id: 'support',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'support@example.com',
    password: { secretId: 'mailbox-poller/support' },
  },
  {
    id: 'invoices',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'invoices@example.com',
    password: { secretId: 'mailbox-poller/invoices' },
  },
];

function mailboxesFromEnv(): readonly MailboxEntry[] {
  const file = process.env['MAILBOX_CONFIG'];
  if (!file) return SAMPLE_MAILBOXES;
  return (JSON.parse(readFileSync(file, 'utf8')) as { mailboxes: MailboxEntry[] }).mailboxes;
}

export class MailboxPollerStack extends Stack {
  readonly ingestion: MailboxIngestion;

  constructor(scope: Construct, id: string, props: StackProps & { mailboxes: readonly MailboxEntry[] }) {
    super(scope, id, props);
    const alarms = new sns.Topic(this, 'Alarms', { displayName: 'Mailbox poller alarms', enforceSSL: true });
    this.ingestion = new MailboxIngestion(this, 'Ingestion', {
      mailboxes: props.mailboxes,
      alarmAction: alarms,
    });
  }
}

const app = new App();
new MailboxPollerStack(app, 'MailboxPoller', {
  mailboxes: mailboxesFromEnv(),
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
// Synth fails on any AwsSolutions finding that the construct does not acknowledge with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
