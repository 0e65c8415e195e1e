/**
 * The fleet layout for password mailboxes (lib/config/fleet-secret.ts): a list of mailbox-id<TAB>password
 * lines becomes one JSON secret; Secrets Manager's 65,536-byte limit is enforced with advice that works.
 */
import { describe, expect, it } from 'vitest';
import { SECRETS_MANAGER_MAX_SECRET_BYTES } from '../../../lib/aws-limits.ts';
import {
  buildFleetSecret,
  FleetSecretInputError,
  FleetSecretTooLargeError,
  parseFleetList,
} from '../../../lib/config/fleet-secret.ts';

const listOf = (count: number, password: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => `mbx-${i}\t${password(i)}`).join('\n');

describe('parseFleetList', () => {
  it('keeps each password exactly: spaces, tabs after the first, quotes, non-ASCII; CRLF and comments', () => {
    const text = '# fleet 1\r\nsupport\t  pa ss\tword \r\n\r\nsales\tp"\\ä€😀\n';
    expect(parseFleetList(text)).toEqual([
      { mailboxId: 'support', password: '  pa ss\tword ' },
      { mailboxId: 'sales', password: 'p"\\ä€😀' },
    ]);
  });

  it('names the line of every mistake and never quotes a password', () => {
    const text = 'good\tsecret-1\nno-tab-hunter2\nbad id\tsecret-2\ngood\tsecret-3\nempty\t\n';
    const error = (() => {
      try {
        parseFleetList(text);
      } catch (caught) {
        return caught as FleetSecretInputError;
      }
    })();
    expect(error).toBeInstanceOf(FleetSecretInputError);
    expect(error?.problems).toEqual([
      'line 2: no tab between the mailbox id and the password',
      'line 3: the text before the tab is not a mailbox id (A-Z a-z 0-9 . _ -, 1 to 64)',
      'line 4: mailbox "good" again (first on line 1)',
      'line 5: mailbox "empty" has an empty password',
    ]);
    expect(error?.message).not.toMatch(/secret-\d|hunter2/);
  });

  it('an empty list is refused', () => {
    expect(() => parseFleetList('# nothing\n\n')).toThrow(FleetSecretInputError);
  });
});

describe('buildFleetSecret', () => {
  it('one JSON field per mailbox id, which JSON.parse gives back byte for byte', () => {
    const entries = parseFleetList('a\tp"1\nb\t\\2 ä\n');
    const secret = buildFleetSecret(entries);
    expect(JSON.parse(secret)).toEqual({ a: 'p"1', b: '\\2 ä' });
  });

  it(`exactly ${SECRETS_MANAGER_MAX_SECRET_BYTES} bytes is accepted, one more is refused`, () => {
    // {"m":"xxx…"}: 8 bytes around the password.
    const fits = [{ mailboxId: 'm', password: 'x'.repeat(SECRETS_MANAGER_MAX_SECRET_BYTES - 8) }];
    expect(Buffer.byteLength(buildFleetSecret(fits))).toBe(SECRETS_MANAGER_MAX_SECRET_BYTES);
    const over = [{ mailboxId: 'm', password: 'x'.repeat(SECRETS_MANAGER_MAX_SECRET_BYTES - 7) }];
    expect(() => buildFleetSecret(over)).toThrow(FleetSecretInputError);
  });

  it('multi-byte passwords are measured in UTF-8 bytes, not characters', () => {
    // 22,500 characters of passwords, 67,500 bytes.
    const entries = ['a', 'b', 'c'].map((mailboxId) => ({ mailboxId, password: '€'.repeat(7_500) }));
    expect(() => buildFleetSecret(entries)).toThrow(FleetSecretTooLargeError);
  });

  it('too large: says how to split, and every part of that size fits', () => {
    const entries = parseFleetList(listOf(3000, (i) => `password-${i}-${'z'.repeat(i % 40)}`));
    let error: FleetSecretTooLargeError | undefined;
    try {
      buildFleetSecret(entries);
    } catch (caught) {
      error = caught as FleetSecretTooLargeError;
    }
    expect(error).toBeInstanceOf(FleetSecretTooLargeError);
    expect(error!.message).toContain(`split -l ${error!.mailboxesPerPart} LIST part-`);
    expect(error!.message).toContain(`${SECRETS_MANAGER_MAX_SECRET_BYTES} bytes`);
    expect(error!.message).not.toContain('password-');
    const parts: string[] = [];
    for (let at = 0; at < entries.length; at += error!.mailboxesPerPart)
      parts.push(buildFleetSecret(entries.slice(at, at + error!.mailboxesPerPart)));
    expect(parts).toHaveLength(error!.parts);
    for (const part of parts)
      expect(Buffer.byteLength(part)).toBeLessThanOrEqual(SECRETS_MANAGER_MAX_SECRET_BYTES);
  });
});
