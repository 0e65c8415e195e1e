/**
 * `caFile`: a PEM file next to the configuration, read when the CLI loads it and turned into `ca`. Either
 * `ca` or `caFile`; an unreadable file names the mailbox and the path; a deployed configuration (parsed
 * without a file) must carry the PEM inline.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../../lib/config/load-config.ts';
import { testCertificates } from '../../support/certs.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'config-ca-file-'));
  await mkdir(path.join(dir, 'certs'));
  await writeFile(path.join(dir, 'certs', 'private-ca.pem'), testCertificates().caPem);
  await writeFile(path.join(dir, 'certs', 'not-a-cert.txt'), 'hello\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mailbox = (overrides: Record<string, unknown>) => ({
  id: 'support',
  host: 'pop.example.com',
  tls: 'implicit',
  username: 'u',
  password: 'hunter2',
  ...overrides,
});

async function configFile(...mailboxes: object[]): Promise<string> {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify({ mailboxes }));
  return file;
}

async function problemsOf(file: string): Promise<string[]> {
  const error = await loadConfigFile(file).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error.problems;
}

describe('caFile', () => {
  it('is read relative to the configuration file and becomes ca', async () => {
    const config = await loadConfigFile(await configFile(mailbox({ caFile: 'certs/private-ca.pem' })));
    expect(config.mailboxes[0]!.ca).toBe(testCertificates().caPem);
  });

  it('an unreadable file is a configuration error naming the mailbox and the full path', async () => {
    const missing = path.join(dir, 'certs', 'missing.pem');
    expect(await problemsOf(await configFile(mailbox({ caFile: 'certs/missing.pem' })))).toEqual([
      `mailboxes[0].caFile (mailbox "support"): cannot read ${missing} (ENOENT)`,
    ]);
  });

  it('a file without a certificate is refused', async () => {
    const [problem] = await problemsOf(await configFile(mailbox({ caFile: 'certs/not-a-cert.txt' })));
    expect(problem).toMatch(/^mailboxes\[0\]\.caFile \(mailbox "support"\): .*not-a-cert\.txt holds no PEM/);
  });

  it('ca and caFile together are refused: either the text or its path', async () => {
    const both = mailbox({ ca: testCertificates().caPem, caFile: 'certs/private-ca.pem' });
    expect(await problemsOf(await configFile(both))).toEqual([
      'mailboxes[0]: give either "ca" (the PEM text) or "caFile" (its path), not both',
    ]);
  });

  it('its problems come with the other problems of the file, in document order', async () => {
    const problems = await problemsOf(
      await configFile(mailbox({ caFile: 'nope.pem' }), mailbox({ id: 'b', tsl: 'none' })),
    );
    expect(problems[0]).toMatch(/^mailboxes\[0\]\.caFile/);
    expect(problems.slice(1).join('\n')).toContain(
      'mailboxes[1].tsl: is not a known property; did you mean "tls"?',
    );
  });

  it('a configuration that is not a file (deployed) must carry the PEM inline', () => {
    expect(() => parseConfig({ mailboxes: [mailbox({ caFile: 'certs/private-ca.pem' })] })).toThrow(
      /mailboxes\[0\]\.caFile: is read only from a configuration file given to the CLI/,
    );
  });
});
