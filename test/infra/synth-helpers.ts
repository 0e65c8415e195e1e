/** Shared by the MailboxIngestion tests: a sample config and a quick synth without bundling. */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { MailboxIngestion, type MailboxIngestionProps } from '../../infra/mailbox-ingestion.ts';

export const MAILBOXES = [
  {
    id: 'support',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'support@example.com',
    password: { secretId: 'mail/support' },
  },
  {
    id: 'invoices',
    host: 'pop.example.com',
    tls: 'starttls',
    username: 'inv@example.com',
    password: { secretId: 'mail/invoices' },
  },
];
export const ENV = { account: '123456789012', region: 'eu-west-1' };

/** Synthesizes one construct without bundling (bundling.test.ts covers that) or CloudFormation linting. */
export function synth(
  props: Partial<MailboxIngestionProps> = {},
  extra?: (stack: Stack) => Partial<MailboxIngestionProps>,
) {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: ENV });
  const ingestion = new MailboxIngestion(stack, 'Mail', {
    ...(props.configLocation ? {} : { mailboxes: MAILBOXES }),
    ...props,
    ...extra?.(stack),
  });
  return { stack, ingestion, template: Template.fromStack(stack) };
}

function logicalIdOf(stack: Stack, construct: unknown): string {
  return stack.getLogicalId((construct as IConstruct).node.defaultChild as CfnElement);
}

/** `{ Fn::GetAtt: [<logical id>, Arn] }` of a construct's resource, as the template refers to it. */
export function getAtt(stack: Stack, construct: unknown) {
  return { 'Fn::GetAtt': [logicalIdOf(stack, construct), 'Arn'] };
}

/** The statements of the role's default policy, as synthesized. */
export function statementsOf(template: Template, stack: Stack, role: unknown) {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: logicalIdOf(stack, role) }] },
  });
  return Object.values(policies).flatMap((policy) => policy['Properties'].PolicyDocument.Statement);
}
