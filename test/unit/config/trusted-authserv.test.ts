/**
 * `trustedAuthservId` (one authserv-id or a list) is validated, normalised to a list, and left undefined
 * when absent so the notification uses the provider default for the host.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config/load-config.ts';
import { trustedAuthservIds } from '../../../lib/notification/trusted-authserv.ts';

const mailbox = (overrides: Record<string, unknown> = {}) => ({
  id: 'support',
  host: 'pop.gmail.com',
  tls: 'implicit',
  username: 'support@example.com',
  password: 'literal-password',
  ...overrides,
});

const parsed = (overrides: Record<string, unknown>) =>
  parseConfig({ mailboxes: [mailbox(overrides)] }).mailboxes[0]!;

function problemsOf(overrides: Record<string, unknown>): string[] {
  try {
    parsed(overrides);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('trustedAuthservId', () => {
  it('absent: undefined in the config, the provider default in the notification', () => {
    const config = parsed({});
    expect(config.trustedAuthservId).toBeUndefined();
    expect(trustedAuthservIds(config.host, config.trustedAuthservId)).toEqual({
      ids: ['mx.google.com'],
      oneField: true,
      provider: 'gmail',
    });
    expect(trustedAuthservIds('OUTLOOK.OFFICE365.COM', undefined).ids).toEqual(['']);
    expect(trustedAuthservIds('pop.example.com', undefined).ids).toEqual([]);
  });

  it('one id or a list, always a list; an empty list trusts nobody even on a known host', () => {
    expect(parsed({ trustedAuthservId: 'mail.example.com' }).trustedAuthservId).toEqual(['mail.example.com']);
    expect(parsed({ trustedAuthservId: ['mx1.example.com', '*.example.net', ''] }).trustedAuthservId).toEqual(
      ['mx1.example.com', '*.example.net', ''],
    );
    const none = parsed({ trustedAuthservId: [] });
    expect(trustedAuthservIds(none.host, none.trustedAuthservId).ids).toEqual([]);
    // A setting of one's own may name several milters' fields of one hop: they are merged.
    expect(trustedAuthservIds(none.host, ['mail.example.com']).oneField).toBe(false);
  });

  it.each([
    ['a space', 'mail example.com'],
    ['a number', 42],
    ['a list with a non-string', ['mx.example.com', 1]],
    ['a wildcard not at the start', 'mx.*.example.com*'],
  ])('refuses %s', (_, value) => {
    const problems = problemsOf({ trustedAuthservId: value });
    expect(problems.some((problem) => problem.startsWith('mailboxes[0].trustedAuthservId'))).toBe(true);
  });
});
