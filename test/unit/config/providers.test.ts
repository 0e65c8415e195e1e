/** Provider profiles: picked by host, overridden per mailbox with `provider`, refused when unknown. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config/load-config.ts';
import { PROVIDER_PROFILES, providerProfile } from '../../../lib/config/providers.ts';

function mailbox(fields: Record<string, unknown>) {
  return { id: 'box', tls: 'implicit', username: 'u', password: 'p', ...fields };
}

describe('provider profiles', () => {
  it('are picked by host', () => {
    expect(providerProfile('auto', 'pop.gmail.com').name).toBe('gmail');
    expect(providerProfile('auto', 'POP.GoogleMail.com').name).toBe('gmail');
    expect(providerProfile('auto', 'outlook.office365.com').name).toBe('microsoft365');
    expect(providerProfile('auto', 'pop.example.com').name).toBe('generic');
    expect(providerProfile('auto', 'pop.gmail.com.evil.example').name).toBe('generic');
  });

  it('Gmail drains in sessions; Microsoft 365 sends XOAUTH2 in two steps', () => {
    expect(PROVIDER_PROFILES.gmail.drainInSessions).toBe(true);
    expect(PROVIDER_PROFILES.microsoft365.xoauth2Form).toBe('two-step');
  });

  it('a mailbox overrides the choice by host', () => {
    const config = parseConfig({
      mailboxes: [
        mailbox({ host: 'pop.gmail.com' }),
        mailbox({ id: 'relay', host: 'pop.gmail.com', provider: 'generic' }),
        mailbox({ id: 'proxy', host: 'pop-proxy.internal', provider: 'gmail' }),
      ],
    });
    expect(config.mailboxes.map((m) => m.profile?.name)).toEqual(['gmail', 'generic', 'gmail']);
  });

  it('an unknown provider is a configuration error', () => {
    expect(() => parseConfig({ mailboxes: [mailbox({ host: 'h', provider: 'yahoo' })] })).toThrow(
      ConfigError,
    );
  });
});
