/**
 * docs/oauth2.md stays true: every secret document it shows is valid by schema/oauth2-secret.schema.json
 * and accepted by the parser the poller uses, and its config example is a valid config.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../lib/config/load-config.ts';
import { parseCredential } from '../../../lib/oauth/settings.ts';
import type { OAuth2Grant } from '../../../lib/ports.ts';
import schema from '../../../schema/oauth2-secret.schema.json' with { type: 'json' };

const page = readFileSync(new URL('../../../docs/oauth2.md', import.meta.url), 'utf8');
const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map(
  (match) => JSON.parse(match[1] ?? '') as Record<string, unknown>,
);
const secrets = blocks.filter((block) => 'grant' in block);

describe('docs/oauth2.md', () => {
  it('shows the four secret documents (app-only, certificate, delegated, Gmail), each valid and accepted', () => {
    expect(secrets.length).toBe(4);
    const validate = new Ajv2020({ strict: true, strictRequired: false, allErrors: true }).compile(schema);
    for (const secret of secrets) {
      expect(validate(secret), JSON.stringify(validate.errors)).toBe(true);
      const credential = parseCredential(
        JSON.stringify(secret),
        { grant: secret['grant'] as OAuth2Grant },
        'doc',
      );
      expect(credential.tokenUrl).toMatch(/^https:\/\//);
    }
  });

  it('shows a valid config', () => {
    const config = blocks.find((block) => 'mailboxes' in block);
    expect(parseConfig(config).mailboxes.map((m) => m.credentialKind)).toEqual(['oauth2', 'oauth2']);
  });

  it('the schema refuses what the parser refuses: an unknown field, a client-credentials document without a secret', () => {
    const validate = new Ajv2020({ strict: true, strictRequired: false }).compile(schema);
    expect(validate({ grant: 'refresh_token', clientId: 'x', refresh_token: 'y' })).toBe(false);
    expect(validate({ grant: 'client_credentials', clientId: 'x', provider: 'microsoft', tenant: 't' })).toBe(
      false,
    );
    expect(
      validate({ grant: 'client_credentials', clientId: 'x', certificate: '-----BEGIN CERTIFICATE-----' }),
    ).toBe(false);
  });
});
