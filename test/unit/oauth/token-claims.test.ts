/**
 * Claims of an access token are decoded for messages from whatever the endpoint sent: an `exp` no Date can
 * hold is an unknown expiry (not a RangeError after the rotated refresh token was stored), and strings
 * reach a terminal or a log line without control characters, bidi overrides or unbounded length.
 */
import { describe, expect, it } from 'vitest';
import { decodeTokenClaims, describeToken } from '../../../lib/oauth/token-claims.ts';
import { OAuth2Tokens } from '../../../lib/oauth/token-provider.ts';
import type { requestToken } from '../../../lib/oauth/token-request.ts';
import type { OAuth2SecretStore } from '../../../lib/oauth/write-back.ts';

function jwt(claims: object): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('decodeTokenClaims', () => {
  it('an exp beyond what a Date holds, negative or not a number is an unknown expiry; nothing throws', () => {
    for (const exp of [1e20, -8.65e12, -1, '1893456000', { seconds: 1 }, null]) {
      const token = jwt({ aud: 'https://outlook.office365.com', exp });
      expect(decodeTokenClaims(token)).toEqual({ audience: 'https://outlook.office365.com' });
      expect(describeToken(token)).toBe('token claims: aud=https://outlook.office365.com');
    }
    // Up to the last instant a Date holds, an exp is shown.
    expect(decodeTokenClaims(jwt({ exp: 1_893_456_000 }))?.expiresAt).toBe('2030-01-01T00:00:00.000Z');
    expect(decodeTokenClaims(jwt({ exp: 8.64e12 }))?.expiresAt).toBe('+275760-09-13T00:00:00.000Z');
  });

  it('strips control characters and bidi overrides from every string, and cuts long ones', () => {
    const claims = decodeTokenClaims(
      jwt({
        aud: 'https://pop.test\u001b[2J\u001b[31m',
        scp: ['POP.AccessAsUser.All\r\nforged: line', 'offline_access\u0085'],
        tid: 'tenant\u202egnp.exe',
        upn: `${'u'.repeat(200)}@example.com`,
        roles: 'a\u0000b\u007fc\u2066d',
      }),
    );
    expect(claims).toEqual({
      audience: 'https://pop.test[2J[31m',
      scopes: 'POP.AccessAsUser.Allforged: line offline_access',
      tenant: 'tenantgnp.exe',
      subject: `${'u'.repeat(120)}…`,
      roles: 'abcd',
    });
    const line = describeToken(
      jwt({ aud: 'x\u001b]0;title\u0007', scp: 'a\nb', exp: 'soon', tid: '\u202e' }),
    );
    expect(line).toBe('token claims: aud=x]0;title scp=ab');
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});

describe('OAuth2Tokens with an access token whose exp is out of range', () => {
  it('hands out the token after the rotated refresh token is stored, its expiry shown as unknown', async () => {
    let text = JSON.stringify({
      grant: 'refresh_token',
      clientId: 'public',
      refreshToken: 'rt-old-0123456789',
      scope: 'pop',
      tokenUrl: 'http://127.0.0.1:9/token',
    });
    const store: OAuth2SecretStore = {
      read: async () => ({ text, version: text }),
      write: async (_, next, expected) => {
        if (expected.text !== text) return 'conflict';
        text = next;
        return 'written';
      },
    };
    const accessToken = jwt({ aud: 'https://pop.test', exp: 1e20 });
    const issue: typeof requestToken = async () => ({
      accessToken,
      expiresAtMs: Date.now() + 3_600_000,
      refreshToken: 'rt-new-0123456789',
    });
    const tokens = new OAuth2Tokens({ store, requestToken: issue });
    const token = await tokens.token({ grant: 'refresh_token', secret: { file: 'doc.json' } }, Date.now());
    expect(token.accessToken).toBe(accessToken);
    expect(token.description).toBe('token claims: aud=https://pop.test');
    expect(JSON.parse(text).refreshToken).toBe('rt-new-0123456789');
  });
});
