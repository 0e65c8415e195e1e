/** The poll role may write (PutSecretValue) only the secrets of refresh-token mailboxes; AuthRevoked alarms. */
import { describe, expect, it } from 'vitest';
import { statementsOf, synth } from './synth-helpers.ts';

const oauthMailboxes = [
  {
    id: 'app',
    host: 'outlook.office365.com',
    tls: 'implicit',
    username: 'app@contoso.com',
    oauth2: {
      grant: 'client_credentials',
      provider: 'microsoft',
      tenant: 'contoso.com',
      secret: { secretId: 'mail/app' },
    },
  },
  {
    id: 'gmail',
    host: 'pop.gmail.com',
    tls: 'implicit',
    username: 'someone@gmail.com',
    oauth2: { grant: 'refresh_token', provider: 'google', secret: { secretId: 'mail/gmail' } },
  },
];

describe('OAuth2 mailboxes in the construct', () => {
  it('grants GetSecretValue on both secrets and PutSecretValue on the refresh-token secret only', () => {
    const { template, stack, ingestion } = synth({ mailboxes: oauthMailboxes as never });
    const statements = statementsOf(template, stack, ingestion.pollFunction.role);
    const text = (value: unknown) => JSON.stringify(value);
    const read = statements.find((s: { Action: string }) => s.Action === 'secretsmanager:GetSecretValue');
    expect(text(read?.Resource)).toContain('secret:mail/app-??????');
    expect(text(read?.Resource)).toContain('secret:mail/gmail-??????');
    const writes = statements.filter((s: { Action: string }) => s.Action === 'secretsmanager:PutSecretValue');
    expect(writes).toHaveLength(1);
    expect(text(writes[0]?.Resource)).toContain('secret:mail/gmail-??????');
    expect(text(writes[0]?.Resource)).not.toContain('mail/app');
  });

  it('grants no PutSecretValue to a config of password mailboxes', () => {
    const { template, stack, ingestion } = synth();
    const statements = statementsOf(template, stack, ingestion.pollFunction.role);
    expect(
      statements.some((s: { Action: unknown }) => JSON.stringify(s.Action).includes('PutSecretValue')),
    ).toBe(false);
  });

  it('alarms on the AuthRevoked metric', () => {
    const { template, ingestion } = synth();
    expect(ingestion.alarms.authRevoked).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'AuthRevoked', Threshold: 1 });
  });
});
