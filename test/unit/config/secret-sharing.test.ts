/**
 * The fleet layout in a configuration (lib/config/secret-sharing.ts): password mailboxes share one secret
 * with a field each, client-credentials mailboxes of one app share one document, and a refresh-token secret
 * (rewritten at every rotation) belongs to one mailbox only.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config/load-config.ts';

const server = { host: 'pop.example.com', tls: 'implicit' };
const passwordMailbox = (id: string, password: object) => ({ id, ...server, username: id, password });
const oauthMailbox = (id: string, grant: string, secretId: string) => ({
  id,
  ...server,
  username: id,
  oauth2: { grant, secret: { secretId } },
});

function problemsOf(mailboxes: object[]): string[] {
  try {
    parseConfig({ mailboxes });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('shared secrets', () => {
  it('a refresh-token secret named by a second mailbox, or by a password, is refused before any run', () => {
    const problems = problemsOf([
      oauthMailbox('alice', 'refresh_token', 'oauth/alice'),
      oauthMailbox('alice-2', 'refresh_token', 'oauth/alice'),
      passwordMailbox('support', { secretId: 'oauth/alice', field: 'support' }),
      oauthMailbox('app', 'client_credentials', 'oauth/alice'),
      // The fleet layout itself is fine: password fields in one secret, one app's document shared.
      ...['sales', 'billing'].map((id) => passwordMailbox(id, { secretId: 'pop3-fleet-1', field: id })),
      oauthMailbox('app-a', 'client_credentials', 'oauth/app'),
      oauthMailbox('app-b', 'client_credentials', 'oauth/app'),
      oauthMailbox('bob', 'refresh_token', 'oauth/bob'),
    ]);
    const why =
      '"oauth/alice" is the refresh-token secret of mailboxes[0], which the poller rewrites at every rotation;' +
      ' give each refresh-token mailbox a secret of its own and keep passwords and app credentials elsewhere';
    expect(problems).toEqual([
      `mailboxes[1].oauth2.secret.secretId: ${why}`,
      `mailboxes[2].password.secretId: ${why}`,
      `mailboxes[3].oauth2.secret.secretId: ${why}`,
    ]);
  });
});
