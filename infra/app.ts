/**
 * Sample app: one stack (infra/sample-stack.ts) with a MailboxIngestion for two mailboxes. Synthesizes
 * offline with no account (`npm run synth`).
 *
 * Account and region: the CDK CLI sets CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION from the profile it runs
 * with (`--profile`, AWS_PROFILE, AWS_REGION; us-east-1 when no region is configured anywhere). With both set
 * the stack is pinned to them and synth says so; with no account (no credentials) it stays
 * environment-agnostic and the region is whichever it is deployed to. Never a region of its own.
 *
 * The mailbox list can also come from a JSON file: MAILBOX_CONFIG=path/to/config.json npm run synth
 */
import { readFileSync } from 'node:fs';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { MailboxEntry } from './mailbox-ingestion.ts';
import { MailboxPollerStack, SAMPLE_MAILBOXES } from './sample-stack.ts';

function mailboxesFromEnv(): readonly MailboxEntry[] {
  const file = process.env['MAILBOX_CONFIG'];
  if (!file) return SAMPLE_MAILBOXES;
  return (JSON.parse(readFileSync(file, 'utf8')) as { mailboxes: MailboxEntry[] }).mailboxes;
}

const app = new App();
const account = process.env['CDK_DEFAULT_ACCOUNT'];
const region = process.env['CDK_DEFAULT_REGION'];
const stack = new MailboxPollerStack(app, 'MailboxPoller', {
  mailboxes: mailboxesFromEnv(),
  env: account && region ? { account, region } : undefined,
});
Annotations.of(stack).addInfo(
  account && region
    ? `deploys to account ${account}, region ${region} (the CLI's profile; --profile or AWS_REGION to change)`
    : 'environment-agnostic: deploys to the region of the credentials used at deploy time',
);
// Synth fails on any AwsSolutions finding that the construct does not acknowledge with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
