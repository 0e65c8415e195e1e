import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config/load-config.ts';

const mailbox = (overrides: Record<string, unknown> = {}) => ({
  id: 'support',
  host: 'pop.example.com',
  tls: 'implicit',
  username: 'support@example.com',
  password: 'literal-password',
  ...overrides,
});

function problemsOf(document: unknown): string[] {
  try {
    parseConfig(document);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('parseConfig: defaults', () => {
  it('fills in everything a minimal mailbox leaves out', () => {
    const config = parseConfig({ mailboxes: [mailbox()] });
    expect(config).toEqual({
      concurrency: 4,
      mailboxes: [
        {
          id: 'support',
          host: 'pop.example.com',
          port: 995,
          tls: 'implicit',
          username: 'support@example.com',
          credential: { literal: 'literal-password' },
          credentialKind: 'password',
          auth: 'auto',
          ca: undefined,
          servername: undefined,
          allowInsecureAuth: false,
          pipelining: true,
          limits: { maxMessagesPerRun: 10_000, maxBytesPerRun: 1024 ** 3, maxMessageBytes: 100 * 1024 ** 2 },
          profile: { name: 'generic', drainInSessions: false, xoauth2Form: undefined },
        },
      ],
    });
  });

  it('uses port 110 for STARTTLS and plain connections, 995 for implicit TLS', () => {
    const config = parseConfig({
      mailboxes: [
        mailbox({ id: 'a', tls: 'starttls' }),
        mailbox({ id: 'b', tls: 'none', allowInsecureAuth: true }),
        mailbox({ id: 'c', tls: 'implicit' }),
        mailbox({ id: 'd', tls: 'implicit', port: 1995 }),
      ],
    });
    expect(config.mailboxes.map((m) => m.port)).toEqual([110, 110, 995, 1995]);
  });

  it('applies defaults.limits to every mailbox, below what a mailbox sets itself', () => {
    const config = parseConfig({
      defaults: { limits: { maxMessagesPerRun: 500, maxMessageBytes: 1000 } },
      mailboxes: [mailbox({ id: 'a' }), mailbox({ id: 'b', limits: { maxMessagesPerRun: 7 } })],
      concurrency: 2,
    });
    expect(config.mailboxes.map((m) => m.limits)).toEqual([
      { maxMessagesPerRun: 500, maxBytesPerRun: 1024 ** 3, maxMessageBytes: 1000 },
      { maxMessagesPerRun: 7, maxBytesPerRun: 1024 ** 3, maxMessageBytes: 1000 },
    ]);
    expect(config.concurrency).toBe(2);
  });

  it('keeps the optional TLS and protocol settings', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const [m] = parseConfig({
      mailboxes: [mailbox({ ca, servername: 'mail.example.net', auth: 'cram-md5', pipelining: false })],
    }).mailboxes;
    expect(m).toMatchObject({ ca, servername: 'mail.example.net', auth: 'cram-md5', pipelining: false });
  });

  it('accepts IP addresses as hosts', () => {
    const config = parseConfig({
      mailboxes: [mailbox({ id: 'a', host: '127.0.0.1' }), mailbox({ id: 'b', host: '::1' })],
    });
    expect(config.mailboxes.map((m) => m.host)).toEqual(['127.0.0.1', '::1']);
  });
});

describe('parseConfig: secrets', () => {
  const passwordOf = (password: unknown) => parseConfig({ mailboxes: [mailbox({ password })] }).mailboxes[0];

  it('reads a password from a literal, an environment variable or Secrets Manager', () => {
    expect(passwordOf('p')?.credential).toEqual({ literal: 'p' });
    expect(passwordOf({ env: 'SUPPORT_PASSWORD' })?.credential).toEqual({ env: 'SUPPORT_PASSWORD' });
    expect(passwordOf({ secretId: 'mail/support' })?.credential).toEqual({ secretId: 'mail/support' });
    expect(
      passwordOf({ secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:x', field: 'pw' })?.credential,
    ).toEqual({
      secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:x',
      field: 'pw',
    });
  });

  it('marks an accessToken as OAuth2 credentials', () => {
    const document = {
      mailboxes: [mailbox({ password: undefined, accessToken: { secretId: 'tok' }, auth: 'xoauth2' })],
    };
    const [m] = parseConfig(JSON.parse(JSON.stringify(document))).mailboxes;
    expect(m).toMatchObject({ credential: { secretId: 'tok' }, credentialKind: 'oauth2', auth: 'xoauth2' });
  });
});

describe('parseConfig: problems name the field', () => {
  const withMailboxes = (...mailboxes: unknown[]) => ({ mailboxes });

  it('lists the allowed TLS modes', () => {
    expect(
      problemsOf(withMailboxes(mailbox({ id: 'a' }), mailbox({ id: 'b' }), mailbox({ id: 'c', tls: 'ssl' }))),
    ).toEqual(['mailboxes[2].tls: must be one of "implicit", "starttls", "none"']);
  });

  it('demands allowInsecureAuth for a connection without TLS', () => {
    const expected = ['mailboxes[0]: tls "none" requires "allowInsecureAuth": true'];
    expect(problemsOf(withMailboxes(mailbox({ tls: 'none' })))).toEqual(expected);
    expect(problemsOf(withMailboxes(mailbox({ tls: 'none', allowInsecureAuth: false })))).toEqual(expected);
  });

  it('refuses duplicate mailbox ids, also when they differ only in letter case', () => {
    expect(
      problemsOf(withMailboxes(mailbox(), mailbox({ id: 'other' }), mailbox(), mailbox({ id: 'Support' }))),
    ).toEqual([
      'mailboxes[2].id: is already the id of mailboxes[0]',
      'mailboxes[3].id: differs only in letter case from the id of mailboxes[0]',
    ]);
  });

  it('names unknown properties, the closest known one when it looks like a typo, and the known ones', () => {
    const problems = problemsOf({
      mailboxes: [mailbox({ passwrod: 'x' })],
      extra: 1,
      defaults: { limit: {} },
    });
    expect(problems).toEqual([
      'extra: is not a known property (known: $schema, mailboxes, defaults, concurrency)',
      'defaults.limit: is not a known property; did you mean "limits"? (known: limits)',
      expect.stringMatching(
        /^mailboxes\[0\]\.passwrod: is not a known property; did you mean "password"\? \(known: id, host, port, tls,/,
      ),
    ]);
    expect(problemsOf(withMailboxes(mailbox({ limits: { maxMessages: 1 } })))).toEqual([
      'mailboxes[0].limits.maxMessages: is not a known property; did you mean "maxMessagesPerRun"? (known: maxMessagesPerRun, maxBytesPerRun, maxMessageBytes)',
    ]);
    expect(problemsOf(withMailboxes(mailbox({ tsl: 'implicit' }))).join('\n')).toContain(
      'mailboxes[0].tsl: is not a known property; did you mean "tls"?',
    );
    expect(problemsOf(withMailboxes(mailbox({ Host: 'x' }))).join('\n')).toContain('did you mean "host"?');
  });

  it('names missing fields', () => {
    expect(problemsOf(withMailboxes({ id: 'x', password: 'p' }))).toEqual([
      'mailboxes[0].host: is required',
      'mailboxes[0].tls: is required',
      'mailboxes[0].username: is required',
    ]);
    expect(problemsOf({})).toEqual(['mailboxes: is required']);
    expect(problemsOf({ mailboxes: [] })).toEqual(['mailboxes: must have at least 1 entry']);
    expect(problemsOf([])).toEqual(['config: must be an object']);
  });

  it('explains malformed values', () => {
    const problems = problemsOf({
      concurrency: 0,
      mailboxes: [
        mailbox({ id: '-x', host: 'not a host', port: 70000, auth: 'gssapi', ca: 'MIIB', servername: 'a b' }),
        mailbox({ id: 'b', username: '', pipelining: 'yes', limits: { maxBytesPerRun: 1.5 } }),
      ],
    });
    expect(problems).toEqual([
      'concurrency: must be at least 1',
      'mailboxes[0].id: must be 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit',
      'mailboxes[0].host: must be a host name or an IP address',
      'mailboxes[0].port: must be at most 65535',
      'mailboxes[0].auth: must be one of "auto", "user", "apop", "plain", "login", "cram-md5", "xoauth2", "oauthbearer"',
      'mailboxes[0].ca: must be PEM text containing -----BEGIN CERTIFICATE-----',
      'mailboxes[0].servername: must be a host name',
      'mailboxes[1].username: must not be empty',
      'mailboxes[1].pipelining: must be a boolean',
      'mailboxes[1].limits.maxBytesPerRun: must be an integer',
    ]);
  });

  it('wants exactly one of password and accessToken, matching the auth method', () => {
    const shapes = problemsOf(
      withMailboxes(
        mailbox({ id: 'neither', password: undefined }),
        mailbox({ id: 'both', accessToken: 't' }),
        mailbox({ id: 'token', password: undefined, accessToken: 't', auth: 'plain' }),
        mailbox({ id: 'pass', auth: 'xoauth2' }),
      ),
    );
    expect(shapes).toEqual([
      'mailboxes[0]: needs exactly one of "password", "accessToken" or "oauth2"',
      'mailboxes[1]: needs exactly one of "password", "accessToken" or "oauth2"',
      'mailboxes[2]: an OAuth2 token is sent with auth "xoauth2", "oauthbearer" (or "auto")',
      'mailboxes[3]: auth "xoauth2" and "oauthbearer" need an "accessToken" or "oauth2", not a "password"',
    ]);
  });

  it('describes the accepted secret forms once, whatever is wrong with one', () => {
    const secretForms =
      'must be the secret itself (a non-empty string), {"env": "VARIABLE_NAME"}, or {"secretId": "name-or-arn", "field": "optional JSON field"}';
    for (const password of [
      '',
      42,
      { env: 'BAD-NAME' },
      { secretId: 'x', fields: 'y' },
      { env: 'A', secretId: 'b' },
    ]) {
      expect(problemsOf(withMailboxes(mailbox({ password })))).toEqual([
        `mailboxes[0].password: ${secretForms}`,
      ]);
    }
  });

  it('reports every problem of the document at once, in document order', () => {
    const problems = problemsOf({
      concurrency: 'many',
      mailboxes: [mailbox({ tls: 'x' }), mailbox({ port: 0 })],
    });
    expect(problems).toEqual([
      'concurrency: must be an integer',
      'mailboxes[0].tls: must be one of "implicit", "starttls", "none"',
      'mailboxes[1].port: must be at least 1',
      'mailboxes[1].id: is already the id of mailboxes[0]',
    ]);
  });

  it('never repeats a literal password in a problem', () => {
    fc.assert(
      // The markers keep a secret from coinciding with a word of the messages themselves ("property").
      fc.property(
        fc.string().map((text) => `§${text}§`),
        (secret) => {
          const broken = mailbox({
            password: secret,
            tls: secret,
            auth: secret,
            host: secret,
            port: secret,
            id: secret,
          });
          const problems = problemsOf({
            mailboxes: [broken, { ...broken, unknown: secret, limits: secret }],
          });
          for (const problem of problems) expect(problem).not.toContain(secret);
        },
      ),
    );
  });

  it('puts the message and every problem into the error message', () => {
    const error = (() => {
      try {
        parseConfig({ mailboxes: [mailbox({ tls: 'x', port: 0 })] });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toBe(
      'invalid configuration:\n  mailboxes[0].port: must be at least 1\n' +
        '  mailboxes[0].tls: must be one of "implicit", "starttls", "none"',
    );
  });
});

describe('docs/configuration.md', () => {
  it('shows only examples that the schema accepts', () => {
    const docs = readFileSync(
      path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/configuration.md'),
      'utf8',
    );
    const examples = [...docs.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    expect(examples.length).toBeGreaterThan(1);
    for (const example of examples) expect(() => parseConfig(JSON.parse(example))).not.toThrow();
  });
});
