/**
 * Sample app: one stack (infra/sample-stack.ts) with a MailboxIngestion for two mailboxes. Synthesizes
 * offline with no account (`npm run synth`).
 *
 * Account and region: the stack's `env` takes CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION, which the CDK CLI
 * sets from the profile it deploys with (`cdk deploy --profile ...`, or AWS_REGION). With neither set the
 * stack is environment-agnostic: nothing pins it to a region, and the region is the one it is deployed to.
 *
 * The mailbox list can also come from a JSON file: MAILBOX_CONFIG=path/to/config.json npm run synth
 */
import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { MailboxEntry } from './mailbox-ingestion.ts';
import { MailboxPollerStack, SAMPLE_MAILBOXES } from './sample-stack.ts';

function mailboxesFromEnv(): readonly MailboxEntry[] {
  const file = process.env['MAILBOX_CONFIG'];
  if (!file) return SAMPLE_MAILBOXES;
  return (JSON.parse(readFileSync(file, 'utf8')) as { mailboxes: MailboxEntry[] }).mailboxes;
}

const app = new App();
new MailboxPollerStack(app, 'MailboxPoller', {
  mailboxes: mailboxesFromEnv(),
  env: { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] },
});
// Synth fails on any AwsSolutions finding that the construct does not acknowledge with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
