/** RFC 8601 §2.2 Authentication-Results values, and the deviations real providers write. */
import { describe, expect, it } from 'vitest';
import { parseAuthenticationResults } from '../../../lib/notification/authentication-results.ts';

const plain = (value: string) => {
  const parsed = parseAuthenticationResults(value);
  return {
    ...parsed,
    results: parsed.results.map((result) => ({
      ...result,
      properties: Object.fromEntries(result.properties),
    })),
  };
};

describe('parseAuthenticationResults', () => {
  it('RFC 8601 Appendix B.5: authserv-id, comments, reason and properties of several methods', () => {
    const parsed = plain(`example.com;
      spf=pass smtp.mailfrom=example.net;
      auth=pass (cram-md5) smtp.auth=sender@example.net;
      dkim=pass reason="good signature" header.i=@mail-router.example.net;
      dkim=fail reason="bad signature" header.i=@newyork.example.com`);
    expect(parsed.authservId).toBe('example.com');
    expect(parsed.malformed).toBe(false);
    expect(parsed.results.map((result) => `${result.method}=${result.result}`)).toEqual([
      'spf=pass',
      'auth=pass',
      'dkim=pass',
      'dkim=fail',
    ]);
    expect(parsed.results[1]).toMatchObject({
      comments: ['cram-md5'],
      properties: { 'smtp.auth': 'sender@example.net' },
    });
    expect(parsed.results[2]).toMatchObject({
      reason: 'good signature',
      properties: { 'header.i': '@mail-router.example.net' },
    });
  });

  it('version, CFWS around every token, nested comments and quoted pairs', () => {
    const parsed = plain(
      '(lead) "mx.example.com" (id) 1 (v) ; dkim (m) / 1 = (r) PASS (nested (comment) \\) here) header . d = "ex\\"ample.org"',
    );
    expect(parsed.authservId).toBe('mx.example.com');
    expect(parsed.results[0]).toMatchObject({ method: 'dkim', result: 'pass' });
    expect(parsed.results[0]?.comments).toContain('nested (comment) ) here');
  });

  it('`none` as the whole resinfo', () => {
    expect(plain('mx.example.com 1; none')).toMatchObject({
      authservId: 'mx.example.com',
      none: true,
      results: [],
    });
  });

  it('Microsoft 365: no authserv-id, `action=` without ptype, `;` without a space, a bare domain resinfo', () => {
    const parsed = plain(
      'spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=eu-west-1.amazonses.com; receiving.example; dkim=pass (signature was verified) header.d=example.com;dmarc=bestguesspass action=none header.from=example.com;compauth=pass reason=100',
    );
    expect(parsed.authservId).toBeUndefined();
    expect(parsed.malformed).toBe(true);
    expect(parsed.results.map((result) => result.method)).toEqual(['spf', 'dkim', 'dmarc', 'compauth']);
    expect(parsed.results[2]?.properties).toEqual({ action: 'none', 'header.from': 'example.com' });
    expect(parsed.results[3]?.reason).toBe('100');
  });

  it('ignores what cannot be read and says so', () => {
    expect(plain('mx.example.com; header.From=a@example.org; dkim=pass')).toMatchObject({
      malformed: true,
      results: [{ method: 'dkim', result: 'pass' }],
    });
    expect(plain('mx.example.com; spf=')).toMatchObject({ malformed: true, results: [] });
    expect(plain('"open')).toMatchObject({ malformed: true, results: [] });
  });
});

describe('parseAuthenticationResults: values ending in a dot', () => {
  it('keeps the key after a value with a trailing dot', () => {
    const parsed = parseAuthenticationResults(
      'mx.example.com; spf=pass smtp.helo=mail.example.org. smtp.mailfrom=a@example.org',
    );
    expect(Object.fromEntries(parsed.results[0]!.properties)).toEqual({
      'smtp.helo': 'mail.example.org.',
      'smtp.mailfrom': 'a@example.org',
    });
  });
});
