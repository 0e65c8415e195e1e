import { describe, expect, it } from 'vitest';
import {
  type ConfigLocation,
  ConfigLocationError,
  configVersionOf,
} from '../../../lib/lambda/config-source.ts';
import { DeployedConfigCache, DeployedConfigError } from '../../../lib/lambda/deployed-mailboxes.ts';

const S3: ConfigLocation = { kind: 's3', bucket: 'config', key: 'mailboxes.json' };
const SSM: ConfigLocation = { kind: 'ssm', parameterName: '/poller/config' };

function configText(host: string, password: object = { secretId: 'mail/support' }): string {
  return JSON.stringify({
    mailboxes: [{ id: 'support', host, tls: 'implicit', username: 'support@example.com', password }],
  });
}

/** Readers serving `texts` (by location) and counting every read. */
function readers(texts: { s3?: string; ssm?: string }) {
  const reads: string[] = [];
  return {
    reads,
    texts,
    readers: {
      readS3Object: async () => {
        reads.push('s3');
        if (texts.s3 === undefined) throw new Error('NoSuchKey');
        return texts.s3;
      },
      readSsmParameter: async () => {
        reads.push('ssm');
        if (texts.ssm === undefined) throw new Error('ParameterNotFound');
        return texts.ssm;
      },
    },
  };
}

describe('the poll function’s cache of the deployed config', () => {
  it('reads once, then serves jobs of the same config version from the cache', async () => {
    const text = configText('pop.example.com');
    const r = readers({ s3: text });
    const cache = new DeployedConfigCache(r.readers);
    const first = await cache.mailboxesFor(S3, configVersionOf(text));
    const second = await cache.mailboxesFor(S3, configVersionOf(text));
    expect(r.reads).toEqual(['s3']);
    expect(first).toMatchObject({ version: configVersionOf(text), read: true });
    expect(second).toMatchObject({ version: configVersionOf(text), read: false });
    expect(second.byId.get('support')).toMatchObject({ host: 'pop.example.com', port: 995 });
  });

  it('re-reads when a job names another version, and then serves the new settings', async () => {
    const before = configText('old.example.com');
    const after = configText('new.example.com');
    const r = readers({ s3: before });
    const cache = new DeployedConfigCache(r.readers);
    await cache.mailboxesFor(S3, configVersionOf(before));
    r.texts.s3 = after;
    const edited = await cache.mailboxesFor(S3, configVersionOf(after));
    expect(r.reads).toEqual(['s3', 's3']);
    expect(edited).toMatchObject({ version: configVersionOf(after), read: true });
    expect(edited.byId.get('support')?.host).toBe('new.example.com');
    // The next job of the new version needs no read.
    await cache.mailboxesFor(S3, configVersionOf(after));
    expect(r.reads).toHaveLength(2);
  });

  it('answers with what is deployed when a job names a version that was never deployed', async () => {
    const text = configText('pop.example.com');
    const r = readers({ s3: text });
    const cache = new DeployedConfigCache(r.readers);
    const found = await cache.mailboxesFor(S3, 'f'.repeat(64));
    expect(found.version).toBe(configVersionOf(text));
    expect(found.byId.get('support')?.host).toBe('pop.example.com');
  });

  it('never serves one location’s config for another', async () => {
    const text = configText('pop.example.com');
    const r = readers({ s3: text, ssm: text });
    const cache = new DeployedConfigCache(r.readers);
    await cache.mailboxesFor(S3, configVersionOf(text));
    await cache.mailboxesFor(SSM, configVersionOf(text));
    expect(r.reads).toEqual(['s3', 'ssm']);
  });

  it.each([
    ['a literal password', { literal: 'hunter2' }],
    ['an environment variable', { env: 'AWS_SECRET_ACCESS_KEY' }],
  ])('refuses a deployed config with %s, as the dispatcher does', async (_, password) => {
    const text = configText('pop.example.com', password);
    const cache = new DeployedConfigCache(readers({ s3: text }).readers);
    await expect(cache.mailboxesFor(S3, configVersionOf(text))).rejects.toThrow(DeployedConfigError);
  });

  it('reports a config that is not JSON by line and column, quoting none of it', async () => {
    const text = '{"mailboxes": [{"id": "support", "password": {"literal": hunter2}}]}';
    const cache = new DeployedConfigCache(readers({ s3: text }).readers);
    const error = await cache.mailboxesFor(S3, configVersionOf(text)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigLocationError);
    expect((error as Error).message).toMatch(
      /^config at s3:\/\/config\/mailboxes.json is not valid JSON: line 1, column \d+: /,
    );
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('keeps the cached config when a re-read fails, and fails that lookup', async () => {
    const text = configText('pop.example.com');
    const r = readers({ s3: text });
    const cache = new DeployedConfigCache(r.readers);
    await cache.mailboxesFor(S3, configVersionOf(text));
    r.texts.s3 = undefined;
    await expect(cache.mailboxesFor(S3, 'e'.repeat(64))).rejects.toThrow('NoSuchKey');
    await expect(cache.mailboxesFor(S3, configVersionOf(text))).resolves.toMatchObject({ read: false });
  });
});
