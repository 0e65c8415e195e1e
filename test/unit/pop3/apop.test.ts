import { describe, expect, it } from 'vitest';
import { apopDigest, isValidApopTimestamp } from '../../../lib/pop3/apop.ts';

describe('apopDigest (RFC 1939 §7)', () => {
  it('reproduces the RFC 1939 example: APOP mrose c4c9334bac560ecc979e58001b3e22fb', () => {
    expect(apopDigest('<1896.697170952@dbc.mtview.ca.us>', 'tanstaaf')).toBe(
      'c4c9334bac560ecc979e58001b3e22fb',
    );
  });

  it('hashes a non-ASCII password as UTF-8', () => {
    // md5("<1.2@example.com>" + "pässword" as UTF-8), as `printf "<1.2@example.com>p\xc3\xa4ssword" | md5sum` prints it.
    expect(apopDigest('<1.2@example.com>', 'pässword')).toBe('d397deed6eb9d2100896ab7491b05cae');
  });
});

describe('isValidApopTimestamp (CVE-2007-1558 guard)', () => {
  it.each([
    '<1896.697170952@dbc.mtview.ca.us>',
    '<12345.1700000000@mail.example.com>',
    '<abc-def.1+2@[192.0.2.1]>',
  ])('accepts the msg-id %s', (timestamp) => {
    expect(isValidApopTimestamp(timestamp)).toBe(true);
  });

  it.each([
    ['no brackets', '1896.697170952@dbc.mtview.ca.us'],
    ['no @', '<1896.697170952>'],
    ['two @', '<a@b@c>'],
    ['two msg-ids', '<a@b><c@d>'],
    ['a nested bracket', '<a<b@c>'],
    ['text after it', '<a@b> x'],
    ['a space inside', '<a b@c>'],
    ['a control character', '<a\x01@b>'],
    ['8-bit bytes (the collision attack needs them)', '<a\u00ff\u0080@b>'],
    ['a NUL', '<a\0@b>'],
    ['a trailing newline', '<a@b>\n'],
    ['an empty local part', '<@b>'],
    ['an empty domain', '<a@>'],
    ['a quoted local part', '<"a"@b>'],
  ])('rejects %s', (_what, timestamp) => {
    expect(isValidApopTimestamp(timestamp)).toBe(false);
  });

  it('rejects a timestamp longer than any greeting could carry', () => {
    expect(isValidApopTimestamp(`<${'a'.repeat(300)}@example.com>`)).toBe(false);
  });
});
