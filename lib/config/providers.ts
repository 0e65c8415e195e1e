/**
 * What a provider's POP3 service does differently, chosen by host and overridable per mailbox
 * (`provider` in the configuration; docs/providers.md). A profile only says how to talk to the
 * provider; it never weakens a check.
 */

import type { XOAuth2Form } from '../pop3/credentials.ts';

export type ProviderName = 'gmail' | 'microsoft365' | 'generic';

export interface ProviderProfile {
  readonly name: ProviderName;
  /**
   * One session hands out a limited batch (Gmail: about 250 messages), and the rest appears only once
   * those are gone: the run logs in again and goes on until a session finds nothing new, the per-run
   * limits or the deadline (lib/pipeline/drain-sessions.ts).
   */
  readonly drainInSessions: boolean;
  /**
   * How XOAUTH2 is sent: 'one-step' (initial response with AUTH, Gmail) or 'two-step' (AUTH XOAUTH2, an
   * empty challenge, then the token: Microsoft 365, whose tokens never fit the 255-octet AUTH line).
   * Read by the XOAUTH2 login (Pop3ClientOptions.xoauth2Form, lib/pop3/login-mechanisms.ts), for static
   * access tokens and OAuth2 grants alike; undefined leaves the choice to the command-line length
   * (RFC 5034 §4). The other form is tried once when the server refuses the form before the token.
   */
  readonly xoauth2Form: XOAuth2Form | undefined;
}

export const PROVIDER_PROFILES: Readonly<Record<ProviderName, ProviderProfile>> = {
  gmail: { name: 'gmail', drainInSessions: true, xoauth2Form: 'one-step' },
  microsoft365: { name: 'microsoft365', drainInSessions: false, xoauth2Form: 'two-step' },
  generic: { name: 'generic', drainInSessions: false, xoauth2Form: undefined },
};

const HOSTS: ReadonlyArray<readonly [RegExp, ProviderName]> = [
  [/^pop\.(gmail|googlemail)\.com\.?$/i, 'gmail'],
  [/^(outlook\.office365\.com|pop\.office365\.com|outlook\.office\.com)\.?$/i, 'microsoft365'],
];

/** The profile for `host`, or the one the mailbox names ('auto' = by host). */
export function providerProfile(choice: ProviderName | 'auto', host: string): ProviderProfile {
  if (choice !== 'auto') return PROVIDER_PROFILES[choice];
  const name = HOSTS.find(([pattern]) => pattern.test(host))?.[1] ?? 'generic';
  return PROVIDER_PROFILES[name];
}
