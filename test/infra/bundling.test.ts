import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/defaults.ts';
import { FUNCTION_CODE_CONTEXT, functionCodeFor } from '../../infra/function-code.ts';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';

const MAILBOXES = [
  {
    id: 'support',
    host: 'pop.example.com',
    tls: 'implicit',
    username: 'support@example.com',
    password: { secretId: 'mail/support' },
  },
];

/**
 * Synthesizes once with real bundling. A `docker` that only records being called sits first on PATH:
 * the bundles must come from the local esbuild, never from a container.
 */
describe('function bundles', () => {
  const fakeBin = mkdtempSync(join(tmpdir(), 'fake-docker-'));
  const dockerCalls = join(fakeBin, 'calls.log');
  const originalPath = process.env['PATH'];
  let assemblyDir = '';
  let assetOf: (logicalIdPrefix: string) => string;

  beforeAll(() => {
    writeFileSync(join(fakeBin, 'docker'), `#!/bin/sh\necho "$@" >> '${dockerCalls}'\nexit 1\n`);
    chmodSync(join(fakeBin, 'docker'), 0o755);
    process.env['PATH'] = `${fakeBin}:${originalPath}`;
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Bundled', { env: { account: '123456789012', region: 'eu-west-1' } });
    new MailboxIngestion(stack, 'Mail', { mailboxes: MAILBOXES, parsedMail: true });
    const assembly = app.synth();
    assemblyDir = assembly.directory;
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    assetOf = (prefix) => {
      const [, fn] = Object.entries(functions).find(([id]) => id.startsWith(prefix))!;
      const key = fn['Properties'].Code.S3Key as string;
      return join(assemblyDir, `asset.${key.replace(/\.zip$/, '')}`);
    };
  });

  afterAll(() => {
    process.env['PATH'] = originalPath;
    for (const dir of [fakeBin, assemblyDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('are built by the local esbuild, without Docker', () => {
    expect(existsSync(dockerCalls)).toBe(false);
  });

  it.each(['MailPollFunction', 'MailDispatchFunction'])(
    '%s is an ESM bundle with its source map',
    (prefix) => {
      const asset = assetOf(prefix);
      const code = readFileSync(join(asset, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire as __cr } from 'node:module'")).toBe(true);
      expect(code).toMatch(/sourceMappingURL=index\.mjs\.map/);
      expect(statSync(join(asset, 'index.mjs.map')).size).toBeGreaterThan(0);
    },
  );

  it('keeps class names, so errors say what they are (Pop3ServerError, not a minified name)', () => {
    const code = readFileSync(join(assetOf('MailPollFunction'), 'index.mjs'), 'utf8');
    expect(code).toContain('"Pop3ServerError"');
    expect(code).toContain('"Pop3ProtocolError"');
  });

  it('ships libmime beside the poll bundle, where its lazy `require` finds it, and nothing beside dispatch', () => {
    const poll = assetOf('MailPollFunction');
    const script =
      `const { createRequire } = await import('node:module');` +
      `const load = createRequire(${JSON.stringify(pathToFileURL(join(poll, 'index.mjs')).href)});` +
      `process.stdout.write(load.resolve('libmime') + '\\n' + load('libmime').decodeWords('=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?='));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.toString()).toBe(`${join(poll, 'node_modules/libmime/index.cjs')}\n日本語`);
    expect(readdirSync(assetOf('MailDispatchFunction')).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('the parse bundle is within its size line, what it loads on demand beside it and found there', () => {
    const parse = assetOf('MailParseStageParseFunction');
    expect(statSync(join(parse, 'index.mjs')).size).toBeLessThanOrEqual(1024 * 1024);
    const script =
      `const { createRequire } = await import('node:module');` +
      `const load = createRequire(${JSON.stringify(pathToFileURL(join(parse, 'index.mjs')).href)});` +
      `const found = ['html-to-text', 'encoding-japanese', 'iconv-lite/encodings/tables/cp950.json'].map((name) => load.resolve(name));` +
      `process.stdout.write(found.join('\\n') + '\\n' + load('html-to-text').htmlToText('<p>a &amp; b</p>'));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(out.toString()).toBe(
      [
        join(parse, 'node_modules/html-to-text/index.cjs'),
        join(parse, 'node_modules/encoding-japanese/index.cjs'),
        join(parse, 'node_modules/iconv-lite/encodings/tables/cp950.json'),
        'a & b',
      ].join('\n'),
    );
  });

  it.each(['MailPollFunction', 'MailDispatchFunction', 'MailParseStageParseFunction'])(
    '%s loads in a fresh node and exports handler',
    (prefix) => {
      const url = pathToFileURL(join(assetOf(prefix), 'index.mjs')).href;
      const script = `const m = await import(${JSON.stringify(url)}); process.stdout.write(typeof m.handler);`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, AWS_REGION: 'eu-west-1' },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      expect(out.toString()).toBe('function');
    },
  );
});

/** test/package/packed-tarball.test.ts synthesizes with the prebuilt bundles, as an installed package does. */
describe('where function code comes from', () => {
  const withContext = (value?: string) =>
    new Stack(new App({ context: value === undefined ? {} : { [FUNCTION_CODE_CONTEXT]: value } }), 'S');

  it('a checkout bundles from its sources by default', () => {
    expect(functionCodeFor(withContext(), 'poll')).toEqual({
      kind: 'source',
      entry: join(PROJECT_ROOT, 'functions', 'poll.ts'),
    });
  });

  it('the context key chooses the prebuilt folder, or says how to build it', () => {
    const prebuilt = join(PROJECT_ROOT, 'dist', 'functions', 'poll');
    if (existsSync(join(prebuilt, 'poll.mjs'))) {
      expect(functionCodeFor(withContext('prebuilt'), 'poll')).toEqual({
        kind: 'prebuilt',
        directory: prebuilt,
        handler: 'poll.handler',
      });
    } else {
      expect(() => functionCodeFor(withContext('prebuilt'), 'poll')).toThrow(/run `npm run build`/);
    }
  });

  it('rejects any other value of the context key', () => {
    expect(() => functionCodeFor(withContext('docker'), 'poll')).toThrow(
      /mailbox-poller:functionCode is 'prebuilt' or 'source', not "docker"/,
    );
  });
});
