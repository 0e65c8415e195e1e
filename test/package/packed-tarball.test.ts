/**
 * The package as a new user gets it. `npm pack` runs on a copy of this checkout (so the build runs as it
 * does before publishing, and the checkout's dist/ is left alone); then, in folders that never saw the
 * repository, the tarball is installed:
 *  - into a CDK app exactly as `cdk init app --language typescript` makes it (CommonJS, the template's
 *    tsconfig and runner), which imports the construct with the one documented line;
 *  - into an ESM TypeScript app that uses every public entry point and runs the library API;
 *  - into the same app pinned at the oldest aws-cdk-lib the peer range accepts, whose template must equal
 *    the newest's;
 *  - with `npm install -g` into a temporary prefix: the `mailbox-poller` command;
 *  - into an empty folder, as the README's package-user start says, where `npx mailbox-poller demo` must pass
 *    with only the package's own dependencies installed and npm must not warn about the package.
 * Installs use the npm cache (--prefer-offline): the registry is asked only for what the cache lacks.
 */
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';
import { startScriptServer } from '../support/script-server.ts';
import {
  ESM_APP,
  ESM_LIBRARY,
  ESM_TSCONFIG,
  IMPORT_LINE,
  MESSAGES,
  mailboxEntry,
  OLDER_TEMPLATE_TSCONFIG,
  withConstruct,
} from './consumer-apps.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const execFileAsync = promisify(execFile);
/** Building, installing and synthesizing take a while on a shared machine; none of it is timed. */
const SLOW = 300_000;
const INSTALL = ['install', '--prefer-offline', '--no-audit', '--no-fund'];
const PASSWORD = 'pop3-password';

/** The environment a user's shell has: without what npm and vitest added; the CDK CLI kept offline. */
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_|VITEST|NODE_OPTIONS$|NODE_ENV$)/i.test(name)),
  ),
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  CDK_DISABLE_VERSION_CHECK: 'true',
  AWS_EC2_METADATA_DISABLED: 'true',
};

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; resolves with its exit code and output, whatever the code. */
async function run(command: string, args: readonly string[], cwd: string, env = ENV): Promise<Ran> {
  try {
    const { stdout, stderr } = await execFileAsync(command, [...args], {
      cwd,
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Runs a command that must succeed; its output is in the error when it does not. */
async function sh(command: string, args: readonly string[], cwd: string, env = ENV): Promise<Ran> {
  const ran = await run(command, args, cwd, env);
  if (ran.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} in ${cwd} exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`,
    );
  }
  return ran;
}

let work = '';
let tarball = '';
/** The tarball unpacked: the files npm installs. */
let packed = '';
let version = '';
let dovecot: DovecotServer;
/** A folder with what `cdk init app --language typescript` wrote, and its package.json (test runner left out). */
let cdkInitApp = '';
let templatePackage: { dependencies: Record<string, string>; devDependencies: Record<string, string> };

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'packed-tarball-'));
  // A copy of the checkout as git sees it (uncommitted changes included, ignored files such as dist/ not),
  // sharing its node_modules: `npm pack` there runs the `prepare` build as publishing does.
  const checkout = path.join(work, 'checkout');
  const files = await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], ROOT);
  for (const file of files.stdout.split('\0').filter(Boolean)) {
    if (existsSync(path.join(ROOT, file))) cpSync(path.join(ROOT, file), path.join(checkout, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(checkout, 'node_modules'));
  version = JSON.parse(readFileSync(path.join(checkout, 'package.json'), 'utf8')).version;
  await sh('npm', ['pack', '--pack-destination', work], checkout);
  tarball = path.join(work, `mailbox-poller-${version}.tgz`);
  packed = path.join(work, 'packed');
  mkdirSync(packed);
  await sh('tar', ['-xzf', tarball, '-C', packed, '--strip-components=1'], work);
  // The aws-cdk CLI of this repository writes its current template, offline. Only the test runner
  // (jest and its SWC transform) is left out: it has no part in synth.
  cdkInitApp = path.join(work, 'mail-app');
  mkdirSync(cdkInitApp);
  const cdk = path.join(ROOT, 'node_modules', '.bin', 'cdk');
  await sh(cdk, ['init', 'app', '--language', 'typescript', '--generate-only'], cdkInitApp);
  templatePackage = JSON.parse(readFileSync(path.join(cdkInitApp, 'package.json'), 'utf8'));
  for (const testRunner of ['jest', '@swc/core', '@swc/jest'])
    delete templatePackage.devDependencies[testRunner];
  writeFileSync(path.join(cdkInitApp, 'package.json'), JSON.stringify(templatePackage, null, 2));
  dovecot = await startDovecot({
    users: [
      { name: 'alice', password: PASSWORD },
      { name: 'bob', password: PASSWORD },
    ],
  });
}, SLOW);

afterAll(async () => {
  await dovecot?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Every file under a folder, relative to it, sorted. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(folder, path.join(entry.parentPath, entry.name)))
    .sort();
}

interface LambdaResource {
  readonly Type: string;
  readonly Properties: { readonly Handler: string; readonly Code: { readonly S3Key: string } };
}

/**
 * The Lambda functions of a synthesized stack, each with its handler and its asset folder in cdk.out;
 * checks that every asset is the function's prebuilt folder from the tarball, byte for byte.
 */
function expectShippedAssets(cdkOut: string, stackName: string): void {
  const template = JSON.parse(readFileSync(path.join(cdkOut, `${stackName}.template.json`), 'utf8'));
  const resources = template.Resources as Record<string, LambdaResource>;
  const functions = Object.values(resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
  expect(functions.map((fn) => fn.Properties.Handler).sort()).toEqual(['dispatch.handler', 'poll.handler']);
  for (const fn of functions) {
    const name = fn.Properties.Handler.replace(/\.handler$/, '');
    const asset = path.join(cdkOut, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    const shipped = path.join(packed, 'dist', 'functions', name);
    expect(filesUnder(asset)).toEqual(filesUnder(shipped));
    for (const file of filesUnder(shipped)) {
      expect(readFileSync(path.join(asset, file)).equals(readFileSync(path.join(shipped, file)))).toBe(true);
    }
  }
  expect(filesUnder(path.join(packed, 'dist', 'functions', 'poll'))).toContain(
    path.join('node_modules', 'libmime', 'index.cjs'),
  );
  // The parse function's deferred dependencies (scripts/deferred-dependencies.mjs) are packed beside it.
  const parse = path.join(packed, 'dist', 'functions', 'parse');
  expect(filesUnder(parse)).toEqual(
    expect.arrayContaining([
      path.join('node_modules', 'html-to-text', 'index.cjs'),
      path.join('node_modules', 'encoding-japanese', 'index.cjs'),
      path.join('node_modules', 'iconv-lite', 'encodings', 'tables', 'cp950.json'),
    ]),
  );
  expect(statSync(path.join(parse, 'parse.mjs')).size).toBeLessThanOrEqual(1024 * 1024);
}

describe('npm pack', () => {
  it('ships the built entry points, the bundles and the schemas, and no tests, bench or fixtures', () => {
    const files = filesUnder(packed);
    const manifest = JSON.parse(readFileSync(path.join(packed, 'package.json'), 'utf8'));
    const exported = Object.values(manifest.exports as Record<string, string | Record<string, string>>)
      .flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target)))
      .filter((target) => !target.includes('*'))
      .map((target) => path.normalize(target));
    for (const target of exported) expect(files).toContain(target);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/mailbox-poller.js',
        'dist/cli.mjs',
        'dist/functions/poll/poll.mjs',
        'dist/functions/dispatch/dispatch.mjs',
        'schema/config.schema.json',
        'schema/notification.schema.json',
        'schema/parsed-document.schema.json',
        'schema/email-parsed-event.schema.json',
      ]),
    );
    expect(files.filter((file) => /^(test|bench|functions|lib|infra|scripts)\//.test(file))).toEqual([]);
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).toEqual([]);
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(manifest.dependencies)).not.toContain('aws-cdk-lib');
    // npm runs these on every install of the package (and warns about them): the build is `prepack`.
    const installTime = ['preinstall', 'install', 'postinstall', 'prepare'];
    expect(Object.keys(manifest.scripts ?? {}).filter((name) => installTime.includes(name))).toEqual([]);
  });

  it('ships every file its README and docs link to', () => {
    const files = new Set(filesUnder(packed).map((file) => file.split(path.sep).join('/')));
    const documents = [...files].filter((file) => file === 'README.md' || /^docs\/.*\.md$/.test(file));
    expect(documents).toContain('README.md');
    const broken = documents.flatMap((document) =>
      [...readFileSync(path.join(packed, document), 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
        .map((match) => match[1]!)
        .filter((target) => !/^[a-z]+:/.test(target))
        .map((target) => path.posix.normalize(path.posix.join(path.posix.dirname(document), target)))
        .filter((target) => !files.has(target) && ![...files].some((file) => file.startsWith(`${target}/`)))
        .map((target) => `${document} -> ${target}`),
    );
    expect(broken).toEqual([]);
  });

  it('the shipped bundles keep their class names', () => {
    for (const bundle of ['dist/cli.mjs', 'dist/functions/poll/poll.mjs']) {
      expect(readFileSync(path.join(packed, bundle), 'utf8')).toContain('"Pop3ServerError"');
    }
  });
});

describe('a CDK app as `cdk init app --language typescript` makes it', () => {
  it('type-checks and synthesizes with the construct from the tarball', { timeout: SLOW }, async () => {
    const app = cdkInitApp;
    const stackFile = path.join(app, 'lib', 'mail-app-stack.ts');
    writeFileSync(stackFile, withConstruct(readFileSync(stackFile, 'utf8')));
    expect(readFileSync(stackFile, 'utf8')).toContain(IMPORT_LINE);

    await sh('npm', [...INSTALL, tarball], app);
    await sh('npm', ['run', 'build'], app); // the template's build: tsc, type-check only
    await sh('npx', ['cdk', 'synth', '--no-notices', '--quiet'], app);
    expectShippedAssets(path.join(app, 'cdk.out'), 'MailAppStack');
    // `outputs: true`: what "Verify your deployment" in docs/deploy.md reads, keyed by the construct id.
    const template = JSON.parse(
      readFileSync(path.join(app, 'cdk.out', 'MailAppStack.template.json'), 'utf8'),
    );
    expect(Object.keys(template.Outputs ?? {})).toEqual(
      expect.arrayContaining(['MailBucketName', 'MailNotificationQueueUrl', 'MailDispatchFunctionName']),
    );

    // Apps from older templates compile as `module: commonjs`, whose resolution ignores `exports`
    // (typesVersions in package.json serves them); TypeScript 5 still has it, 7 no longer does.
    const older = path.join(app, 'older-template');
    mkdirSync(older);
    writeFileSync(path.join(older, 'tsconfig.json'), JSON.stringify(OLDER_TEMPLATE_TSCONFIG, null, 2));
    cpSync(stackFile, path.join(older, 'stack.ts'));
    await sh(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', '.'], older);
  });
});

/**
 * An ESM CDK app with the construct in bin/app.ts, the package from the tarball, and `dependencies` for the
 * rest; the CDK CLI, TypeScript and tsx in the cdk init app's versions, which the npm cache has.
 */
function writeEsmApp(name: string, dependencies: Record<string, string>): string {
  const app = path.join(work, name);
  mkdirSync(path.join(app, 'bin'), { recursive: true });
  const { devDependencies } = templatePackage;
  const manifest = {
    name,
    private: true,
    type: 'module',
    dependencies: { ...dependencies, 'mailbox-poller': `file:${tarball}` },
    devDependencies: Object.fromEntries(
      ['aws-cdk', 'typescript', 'tsx', '@types/node'].map((dependency) => [
        dependency,
        devDependencies[dependency],
      ]),
    ),
  };
  writeFileSync(path.join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(ESM_TSCONFIG, null, 2));
  writeFileSync(path.join(app, 'cdk.json'), JSON.stringify({ app: 'npx tsx bin/app.ts' }));
  writeFileSync(path.join(app, 'bin', 'app.ts'), ESM_APP);
  return app;
}

describe('an ESM TypeScript app', () => {
  it('type-checks and synthesizes with the construct, and drains a mailbox with the library API', {
    timeout: SLOW,
  }, async () => {
    const app = writeEsmApp('esm-app', templatePackage.dependencies);
    writeFileSync(path.join(app, 'bin', 'library.ts'), ESM_LIBRARY);
    await sh('npm', INSTALL, app);

    await sh('npx', ['tsc', '-p', '.'], app);
    await sh('npx', ['cdk', 'synth', '--no-notices', '--quiet'], app);
    expectShippedAssets(path.join(app, 'cdk.out'), 'EsmMail');

    await dovecot.seed('bob', MESSAGES);
    const config = { mailboxes: [mailboxEntry(dovecot.pop3Port, 'bob')] };
    const { stdout } = await sh('npx', ['tsx', 'bin/library.ts', JSON.stringify(config)], app, {
      ...ENV,
      POP3_PASSWORD: PASSWORD,
    });
    const result = JSON.parse(stdout);
    expect(result.status).toBe('ok');
    expect(result.stored.map((base64: string) => Buffer.from(base64, 'base64'))).toEqual(MESSAGES);
    expect(result.subjects).toEqual(['first', '日本語', 'binary']);
    expect(result.schemaTitle).toBe('mailbox-poller notification');
    expect(result.errorName).toBe('Pop3ServerError');
    expect(await dovecot.messageCount('bob')).toBe(0);
  });
});

describe('a CDK app on the oldest aws-cdk-lib the peer range accepts', () => {
  /** The synthesized template without CDKMetadata, which names the aws-cdk-lib version. */
  function templateOf(cdkOut: string): Record<string, unknown> {
    const template = JSON.parse(readFileSync(path.join(cdkOut, 'EsmMail.template.json'), 'utf8'));
    delete template.Resources.CDKMetadata;
    delete template.Conditions?.CDKMetadataAvailable;
    return template;
  }

  it('installs without a peer conflict and synthesizes the same template as the newest', {
    timeout: SLOW,
  }, async () => {
    const manifest = JSON.parse(readFileSync(path.join(packed, 'package.json'), 'utf8'));
    const oldest = /^\^(2\.\d+\.\d+)$/.exec(manifest.peerDependencies['aws-cdk-lib'])?.[1];
    expect(oldest, 'the peer range is ^<oldest version>').toBeDefined();
    const newest = templatePackage.dependencies['aws-cdk-lib']!;
    expect(newest).not.toBe(oldest);
    // Pinned exactly, as `cdk init` pins it: npm refuses the install if the peer range excludes it.
    const app = writeEsmApp('oldest-cdk-app', {
      'aws-cdk-lib': oldest!,
      constructs: templatePackage.dependencies.constructs!,
    });
    const synth = ['cdk', 'synth', '--no-notices', '--quiet', '--output'];
    await sh('npm', INSTALL, app);
    await sh('npx', ['tsc', '-p', '.'], app);
    await sh('npx', [...synth, 'cdk.out.oldest'], app);
    expectShippedAssets(path.join(app, 'cdk.out.oldest'), 'EsmMail');

    // An older construct library ignores props it does not know: the template must not lose any.
    await sh('npm', [...INSTALL, '--save-exact', `aws-cdk-lib@${newest}`], app);
    await sh('npx', [...synth, 'cdk.out.newest'], app);
    expect(templateOf(path.join(app, 'cdk.out.oldest'))).toEqual(
      templateOf(path.join(app, 'cdk.out.newest')),
    );
  });
});

/** The command lines of the README's package-user start, comments and blank lines left out. */
function packageUserStart(readme: string): string[] {
  const section = /^## Start here: the npm package\n+```sh\n([\s\S]*?)```/m.exec(readme);
  expect(section, 'the README has a package-user start with a sh block').not.toBeNull();
  return section![1]!
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

describe("the README's package-user start, in an empty folder", () => {
  it('installs with no warning about the package, and `npx mailbox-poller demo` passes its checks', {
    timeout: SLOW,
  }, async () => {
    const readme = readFileSync(path.join(packed, 'README.md'), 'utf8');
    expect(packageUserStart(readme)).toEqual(['npm install mailbox-poller', 'npx mailbox-poller demo']);
    const folder = path.join(work, 'first-run');
    mkdirSync(folder);
    const install = await sh('npm', [...INSTALL, tarball], folder);
    const warnings = `${install.stdout}\n${install.stderr}`
      .split('\n')
      .filter((line) => /^npm warn/i.test(line) && /install-scripts|prepare|mailbox-poller/.test(line));
    expect(warnings).toEqual([]);
    // Only what the package depends on: no build tools, no test tools, no CDK (an optional peer).
    for (const absent of ['esbuild', 'typescript', 'tsx', 'vitest', 'fauxqs', 'aws-cdk-lib'])
      expect(existsSync(path.join(folder, 'node_modules', absent)), absent).toBe(false);

    // The demo's temporary folder is made under TMPDIR: this test's own, removed with it.
    const temp = path.join(work, 'first-run-tmp');
    mkdirSync(temp);
    const demo = await run('npx', ['mailbox-poller', 'demo'], folder, { ...ENV, TMPDIR: temp });
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    expect(demo.stderr).toBe('');
    expect(demo.stdout).toMatch(/^support: ok — 5 found, 5 retrieved .* 5 stored, 5 notified, 5 deleted/m);
    expect(demo.stdout).toContain('5 objects for 5 messages, each stored byte-for-byte exactly once');
    expect(demo.stdout).toContain('5 notifications for 5 messages, one per stored object');
    expect(demo.stdout).toContain('the mailbox is now empty (0 messages left on the server)');
    expect(demo.stdout).not.toContain('FAIL');
    const out = /Demo passed\. The stored messages and notifications\.jsonl are in (\S+)$/m.exec(
      demo.stdout,
    )?.[1];
    expect(out?.startsWith(temp), demo.stdout).toBe(true);
    expect(filesUnder(out!).filter((file) => file.endsWith('.eml'))).toHaveLength(5);
  });
});

describe('npm install -g', () => {
  let prefix = '';
  let command = '';

  beforeAll(async () => {
    prefix = path.join(work, 'global');
    const install = await sh('npm', [...INSTALL, '--global', '--prefix', prefix, tarball], work);
    expect(install.stderr).not.toMatch(/install-scripts|prepare/);
    command = path.join(prefix, 'bin', 'mailbox-poller');
  }, SLOW);

  it('gives a mailbox-poller command that prints its version', async () => {
    expect(await run(command, ['--version'], work)).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('drains a Dovecot mailbox to the local default', async () => {
    const out = path.join(work, 'cli-out');
    await dovecot.seed('alice', MESSAGES);
    const config = path.join(work, 'cli-config.json');
    writeFileSync(config, JSON.stringify({ mailboxes: [mailboxEntry(dovecot.pop3Port, 'alice')] }));
    const ran = await run(command, ['poll', '--config', config, '--out', out], work, {
      ...ENV,
      POP3_PASSWORD: PASSWORD,
    });
    expect(ran.code, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stderr).toBe('');
    const objects = filesUnder(out).filter((file) => file.endsWith('.eml'));
    expect(objects.map((file) => readFileSync(path.join(out, file))).sort(Buffer.compare)).toEqual(
      [...MESSAGES].sort(Buffer.compare),
    );
    const notifications = readFileSync(path.join(out, 'notifications.jsonl'), 'utf8').trim().split('\n');
    const subjects = notifications.map((line) => JSON.parse(line).mail.commonHeaders.subject);
    expect(subjects.sort()).toEqual(['binary', 'first', '日本語']);
    expect(await dovecot.messageCount('alice')).toBe(0);
  });

  it('names the error class when a server breaks the protocol', async () => {
    const server = await startScriptServer([{ send: 'HELLO there\r\n' }, { close: true }]);
    try {
      const config = path.join(work, 'broken-server.json');
      writeFileSync(config, JSON.stringify({ mailboxes: [mailboxEntry(server.port, 'carol')] }));
      const ran = await run(
        command,
        ['poll', '--config', config, '--out', path.join(work, 'broken-out')],
        work,
        {
          ...ENV,
          POP3_PASSWORD: PASSWORD,
        },
      );
      expect(ran.code).toBe(1);
      // stdout has the summary; the reason and the server's words go to stderr, never a minified name.
      expect(ran.stdout).toContain('carol: failed (protocol)');
      expect(ran.stderr).toMatch(/^mailbox-poller: carol: failed \(protocol\): .*HELLO there/m);
      expect(ran.stderr).not.toMatch(/\b[A-Za-z]{1,2}: /);
      await server.done;
    } finally {
      await server.close();
    }
  });

  it('prints no AWS SDK notice about the Node.js version, even where the SDK would', async () => {
    const config = path.join(work, 'unreachable.json');
    writeFileSync(config, JSON.stringify({ mailboxes: [mailboxEntry(1, 'nobody')] }));
    const argv = ['poll', '--config', config, '--bucket', 'b', '--queue-url', 'http://127.0.0.1:1/q'];
    const env = { ...ENV, AWS_REGION: 'eu-west-1', POP3_PASSWORD: PASSWORD };
    const ran = await run(command, argv, work, env);
    expect(ran.code).toBe(1); // the mailbox is unreachable, but the S3 and SQS clients were made
    // Our own report of the unreachable mailbox (and of its health record, which no credentials can read
    // here), and nothing else.
    expect(ran.stderr).not.toContain('NodeVersionSupportWarning');
    expect(ran.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^mailbox-poller: nobody: retry-later \(refused\)/),
      expect.stringMatching(
        /^mailbox-poller: warning: nobody: health record unreadable; polling without the circuit breaker: /,
      ),
    ]);
    if (Number(process.versions.node.split('.')[0]) < 22) {
      // The same bundle run without bin/mailbox-poller.js: the SDK does print its notice on this Node.
      const cli = path.join(prefix, 'lib', 'node_modules', 'mailbox-poller', 'dist', 'cli.mjs');
      const script = `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(${JSON.stringify(argv)});`;
      const bare = await run(process.execPath, ['--input-type=module', '-e', script], work, env);
      expect(bare.stderr).toContain('NodeVersionSupportWarning');
    }
  });
});
