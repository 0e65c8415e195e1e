/**
 * The deployments whose IAM policies are checked (test/infra/iam-boundaries.test.ts on the template,
 * test/integration/iam-calls.test.ts with the recorded calls of the built functions): the sample app, a
 * construct with keep-mode and OAuth2 mailboxes, one with its config in S3 whose buckets and queues are
 * encrypted with a customer managed KMS key, and one notifying through an EventBridge bus alone. All are
 * resolved for one fixed account and region.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { ConfigLocation, MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { MailboxPollerStack, SAMPLE_MAILBOXES } from '../../infra/sample-stack.ts';

export const TARGET = { account: '123456789012', region: 'us-east-1' } as const;

/** Keep mode with a password and with a refresh-token mailbox, and a client-credentials one draining. */
export const KEEP_OAUTH_MAILBOXES = [
  {
    id: 'archive',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'archive',
    keep: true,
    password: { secretId: 'mail/archive' },
  },
  {
    id: 'delegated',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'keeper',
    keep: true,
    oauth2: { grant: 'refresh_token', secret: { secretId: 'oauth/delegated' } },
  },
  {
    id: 'app',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'oauthuser',
    oauth2: { grant: 'client_credentials', secret: { secretId: 'oauth/app' } },
  },
];

function synthApp(): App {
  return new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
}

/** infra/sample-stack.ts as infra/app.ts makes it without an account: environment-agnostic. */
export function sampleDeployment(): { stack: Stack; ingestion: MailboxIngestion } {
  const stack = new MailboxPollerStack(synthApp(), 'MailboxPoller', { mailboxes: SAMPLE_MAILBOXES });
  return { stack, ingestion: stack.ingestion };
}

export function keepOAuthDeployment(): { stack: Stack; ingestion: MailboxIngestion } {
  const stack = new Stack(synthApp(), 'KeepOAuth', { env: TARGET });
  return { stack, ingestion: new MailboxIngestion(stack, 'Mail', { mailboxes: KEEP_OAUTH_MAILBOXES }) };
}

export const S3_CONFIG_KEY = 'mailbox-poller/config.json';

/**
 * The sample mailboxes in a config object in S3 (ConfigLocation.fromBucket, secrets in `secretArns`),
 * with that bucket, the message bucket and every queue encrypted under a key of the stack.
 */
export function kmsDeployment(): { stack: Stack; ingestion: MailboxIngestion } {
  const stack = new Stack(synthApp(), 'WithKey', { env: TARGET });
  const kmsKey = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const configBucket = new s3.Bucket(stack, 'ConfigBucket', {
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: kmsKey,
    enforceSSL: true,
  });
  const secretArns = SAMPLE_MAILBOXES.map(
    (mailbox) =>
      `arn:aws:secretsmanager:${TARGET.region}:${TARGET.account}:secret:${(mailbox['password'] as { secretId: string }).secretId}-??????`,
  );
  const ingestion = new MailboxIngestion(stack, 'Mail', {
    configLocation: ConfigLocation.fromBucket(configBucket, S3_CONFIG_KEY),
    secretArns,
    kmsKey,
  });
  return { stack, ingestion };
}

/** The sample mailboxes notified through an EventBridge bus alone (`notificationQueueEnabled: false`). */
export function eventBusDeployment(): { stack: Stack; ingestion: MailboxIngestion } {
  const stack = new Stack(synthApp(), 'WithBus', { env: TARGET });
  const eventBus = new events.EventBus(stack, 'Bus', { eventBusName: 'mail-events' });
  const ingestion = new MailboxIngestion(stack, 'Mail', {
    mailboxes: SAMPLE_MAILBOXES,
    eventBus,
    notificationQueueEnabled: false,
  });
  return { stack, ingestion };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalIdOf(stack: Stack, construct: unknown): string {
  return stack.getLogicalId((construct as IConstruct).node.defaultChild as CfnElement);
}

/** The logical id of the stack's SSM parameter, the inline mailbox config; undefined for a config in S3. */
export function configParameterIdOf(stack: Stack): string | undefined {
  const ids = Object.keys(Template.fromStack(stack).findResources('AWS::SSM::Parameter'));
  if (ids.length > 1) throw new Error(`expected one SSM parameter at most, found ${ids.join(', ')}`);
  return ids[0];
}
