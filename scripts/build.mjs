#!/usr/bin/env node
/**
 * Builds what the npm package ships:
 *   - the Lambda handlers, one folder per function, which is that function's whole asset:
 *     functions/<name>.ts → dist/functions/<name>/<name>.mjs (+ .map), and the packages it loads on demand
 *     in dist/functions/<name>/node_modules/ (the construct deploys these folders as they are);
 *   - the CLI: lib/cli/main.ts → dist/cli.mjs;
 *   - the library and construct entry points, compiled by tsc (tsconfig.build.json) to dist/esm/ with
 *     their .d.ts files;
 * then reports each bundle's size and its module init time, measured by importing it in a fresh `node`
 * process.
 *
 * The AWS SDK is bundled, not left to the Lambda runtime: `--compare-sdk` builds both variants and prints
 * the numbers behind that choice. Runs before `npm pack`/`npm publish` (the `prepack` script, which npm
 * runs only in the folder being packed: never on a user's install, so the shipped manifest has no
 * install-time script), and by hand as `npm run build`. It skips entries that do not exist and steps
 * aside when esbuild is not installed (a production-only install).
 *
 *   node scripts/build.mjs [--compare-sdk] [--no-measure] [--functions-only] [--no-library] [--out-dir DIR]
 *   node scripts/build.mjs [--function-entry functions/NAME.ts] --ship-lazy-modules BUNDLE.mjs
 *
 * `--out-dir` builds somewhere other than dist/ (tests do, so they never pull the CLI bundle away from
 * under someone running it). `--functions-only` builds only the Lambda bundles, `--no-library` skips tsc.
 * `--ship-lazy-modules` only adds, beside an existing bundle, the packages it loads on first use (see
 * LAZY_MODULES); with `--function-entry`, it first bundles that entry into BUNDLE.mjs as the function
 * bundles are bundled here. The CDK runs it after its own esbuild step. The functions and settings used
 * here are exported for other callers.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { DEFERRED_PACKAGES, deferredDependencies, shipDeferredTables } from './deferred-dependencies.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Targets the functions must meet (cold start budget of the poller). */
export const MAX_FUNCTION_BYTES = 1024 * 1024;
export const MAX_INIT_MS = 200;

/** Lets the ESM bundle satisfy CommonJS dependencies that call `require` for Node built-ins. */
const REQUIRE_BANNER =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/**
 * The esbuild settings of every bundle; infra/defaults.ts (BUNDLING) gives the CDK the same ones, so
 * what is deployed is what is built and tested here. One file per function, no code splitting; the
 * packages it loads only on demand go beside it (LAZY_MODULES).
 */
export const ESBUILD_OPTIONS = Object.freeze({
  bundle: true,
  platform: 'node',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: REQUIRE_BANNER },
  logLevel: 'warning',
  legalComments: 'none',
  // Class and function names survive minification, so errors keep saying what they are
  // (`Pop3ServerError: ...`, not `Kn: ...`) in logs and CLI output; about 6 % more bytes.
  keepNames: true,
});

/** The package's version, compiled into the CLI (`mailbox-poller --version`) so it reads no file at run time. */
export const PACKAGE_VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

const run = promisify(execFile);

/**
 * The handlers: one bundle per functions/<name>.ts, for the Lambda runtime (Node.js 22), each in a folder
 * of its own (`<outDir>/<name>/<name>.mjs`) so that the folder is exactly that function's asset.
 */
export function functionEntries(outDir = join(DIST, 'functions')) {
  const dir = join(ROOT, 'functions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts'))
    .sort()
    .map((name) => ({
      name: basename(name, '.ts'),
      entry: join(dir, name),
      outfile: join(outDir, basename(name, '.ts'), `${basename(name, '.ts')}.mjs`),
      target: 'node22',
    }));
}

function cliEntry(outDir = DIST) {
  const entry = join(ROOT, 'lib', 'cli', 'main.ts');
  return existsSync(entry)
    ? [
        {
          name: 'cli',
          entry,
          outfile: join(outDir, 'cli.mjs'),
          target: 'node20',
          isFunction: false,
          define: { MAILBOX_POLLER_VERSION: JSON.stringify(PACKAGE_VERSION) },
        },
      ]
    : [];
}

/**
 * Bundles one entry; resolves with the size of the output file in bytes. A function's bundle leaves out
 * what its dependencies load only for some messages (deferredDependencies); the CLI's keeps everything.
 */
export async function bundle(
  { entry, outfile, target, define = {}, isFunction = true },
  { externalSdk = false } = {},
) {
  const esbuild = await import('esbuild');
  const plugins = [await precompiledConfigValidator()];
  if (isFunction) plugins.push(deferredDependencies());
  await esbuild.build({
    ...ESBUILD_OPTIONS,
    entryPoints: [entry],
    outfile,
    target,
    define,
    external: externalSdk ? ['@aws-sdk/*', '@smithy/*'] : [],
    plugins,
  });
  return statSync(outfile).size;
}

const CONFIG_VALIDATOR = /[\\/]lib[\\/]config[\\/]config-validator\.ts$/;
let validatorModule;

/**
 * An esbuild plugin that replaces lib/config/config-validator.ts (which compiles the config schema with
 * ajv at first use) with the validator compiled now: ajv standalone code, generated from that module's own
 * configAjv, so the options are the same. The bundles then carry neither ajv's compiler nor the schema
 * compile of ~100 ms at first config read. Generated at every build, never committed.
 */
export async function precompiledConfigValidator() {
  validatorModule ??= generateValidatorModule();
  const contents = await validatorModule;
  return {
    name: 'precompiled-config-validator',
    setup(build) {
      build.onLoad({ filter: CONFIG_VALIDATOR }, () => ({ contents, loader: 'js', resolveDir: ROOT }));
    },
  };
}

async function generateValidatorModule() {
  const esbuild = await import('esbuild');
  // The module itself, bundled for this process, so the build compiles with exactly its configAjv.
  // Inside the checkout, so that the module's imports of ajv resolve to this node_modules.
  const cache = join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'config-validator-'));
  const outfile = join(dir, 'config-validator.mjs');
  let configAjv;
  let configSchema;
  try {
    await esbuild.build({
      ...ESBUILD_OPTIONS,
      entryPoints: [join(ROOT, 'lib/config/config-validator.ts')],
      minify: false,
      sourcemap: false,
      // ajv from node_modules, the same copy as standaloneCode's below: its code objects must be its own.
      packages: 'external',
      outfile,
    });
    ({ configAjv, configSchema } = await import(pathToFileURL(outfile).href));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const ajv = configAjv({ code: { source: true, esm: true } });
  const validate = ajv.compile(configSchema);
  const { default: standaloneCode } = await import('ajv/dist/standalone/index.js');
  return `${standaloneCode.default ? standaloneCode.default(ajv, validate) : standaloneCode(ajv, validate)}
export function compileConfigValidator() { return validate; }
`;
}

/**
 * Packages the code loads with Node's own `require` only when it needs them (lib/notification/
 * encoded-words.ts: libmime, for rare charsets; the stubs of deferred-dependencies.mjs: encoding-japanese and
 * html-to-text), so they are not in the bundles. Each is bundled on its own, as CommonJS, into
 * node_modules/<name> beside a bundle that names it, where that `require` finds it.
 */
export const LAZY_MODULES = ['libmime', ...DEFERRED_PACKAGES];

/** The lazily loaded packages a bundle refers to (by their quoted name in its code). */
function lazyModulesOf(bundleFile) {
  const code = readFileSync(bundleFile, 'utf8');
  return LAZY_MODULES.filter((name) => code.includes(`"${name}"`) || code.includes(`'${name}'`));
}

/**
 * Writes node_modules/<name> beside `bundleFile` for each lazily loaded package it refers to; resolves
 * with `{ name, dir, bytes }` for each package written.
 */
export async function shipLazyModules(bundleFile, target = 'node22') {
  const esbuild = await import('esbuild');
  const shipped = [];
  for (const name of lazyModulesOf(bundleFile)) {
    const dir = join(dirname(bundleFile), 'node_modules', name);
    await mkdir(dir, { recursive: true });
    const { version } = createRequire(join(ROOT, 'package.json'))(`${name}/package.json`);
    await writeFile(
      join(dir, 'package.json'),
      `${JSON.stringify({ name, version, type: 'commonjs', main: 'index.cjs' }, null, 2)}\n`,
    );
    await esbuild.build({
      ...ESBUILD_OPTIONS,
      banner: {},
      format: 'cjs',
      // Resolved as `require` resolves it (the package's CommonJS build), so the bundle exports what
      // `require(name)` returns from node_modules.
      mainFields: ['main'],
      stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: ROOT },
      outfile: join(dir, 'index.cjs'),
      target,
    });
    shipped.push({ name, dir, bytes: statSync(join(dir, 'index.cjs')).size });
  }
  shipped.push(...(await shipDeferredTables(readFileSync(bundleFile, 'utf8'), bundleFile)));
  return shipped;
}

/**
 * Builds every function into `outDir`, with the packages each loads lazily; resolves with
 * `{ name, outfile, bytes, lazyModules }` per function.
 */
export async function buildFunctionBundles(outDir = join(DIST, 'functions')) {
  await mkdir(outDir, { recursive: true });
  const targets = functionEntries(outDir);
  const sizes = await Promise.all(targets.map((target) => bundle(target)));
  const built = [];
  for (const [index, target] of targets.entries()) {
    const lazyModules = await shipLazyModules(target.outfile, target.target);
    built.push({ name: target.name, outfile: target.outfile, bytes: sizes[index], lazyModules });
  }
  return built;
}

/**
 * Compiles the package's public entry points (tsconfig.build.json: the library API, the construct, the
 * notification types) into `<outDir>/esm` as ES modules with their .d.ts files; resolves with false
 * when TypeScript is not installed (a production-only install).
 */
export async function emitLibrary(outDir = DIST) {
  let tsc;
  try {
    tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return false;
  }
  const esmDir = join(outDir, 'esm');
  await rm(esmDir, { recursive: true, force: true });
  try {
    await run(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', esmDir], {
      cwd: ROOT,
    });
  } catch (error) {
    // tsc prints its diagnostics on stdout.
    throw new Error(`tsc -p tsconfig.build.json failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`, {
      cause: error,
    });
  }
  return true;
}

/** Median wall time of `await import(bundle)` in a fresh process (the module's cold init). */
export async function initMs(outfile, samples = 3) {
  const script =
    'const t = performance.now(); await import(process.argv[1]); ' +
    'process.stdout.write(String(performance.now() - t));';
  const times = [];
  for (let i = 0; i < samples; i++) {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', script, pathToFileURL(outfile).href],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' },
      },
    );
    times.push(Number(stdout));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A path relative to the repository when it is inside it. */
function shown(file) {
  const inside = relative(ROOT, file);
  return inside.startsWith('..') ? file : inside;
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function report(label, outfile, bytes, samples, isFunction) {
  const init = samples > 0 ? await initMs(outfile, samples) : undefined;
  const warnings = [];
  if (isFunction && bytes > MAX_FUNCTION_BYTES) warnings.push(`over ${kib(MAX_FUNCTION_BYTES)}`);
  if (isFunction && init !== undefined && init > MAX_INIT_MS) warnings.push(`init over ${MAX_INIT_MS} ms`);
  const initText = init === undefined ? '' : `  init ${init.toFixed(0)} ms`;
  console.log(
    `  ${label.padEnd(38)} ${kib(bytes).padStart(11)}${initText}${warnings.length ? `  (${warnings.join(', ')})` : ''}`,
  );
}

function optionValue(argv, name) {
  const index = argv.indexOf(name);
  if (index === -1) return undefined;
  const value = argv[index + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
  return value;
}

async function main(argv) {
  try {
    await import('esbuild');
  } catch {
    console.log('build: esbuild is not installed (production install?), skipping the bundles');
    return;
  }
  const args = new Set(argv);
  const shipFor = optionValue(argv, '--ship-lazy-modules');
  if (shipFor !== undefined) {
    // The CDK's bundling step for one function: its esbuild output is bundled again from the entry as
    // here (infra/defaults.ts bundlingFor), then gets the packages it loads lazily.
    const entry = optionValue(argv, '--function-entry');
    if (entry !== undefined)
      await bundle({ entry: resolve(entry), outfile: resolve(shipFor), target: 'node22' });
    for (const shipped of await shipLazyModules(resolve(shipFor))) {
      console.log(`build: ${shipped.name} beside ${shipFor} (${kib(shipped.bytes)}, loaded on first use)`);
    }
    return;
  }
  const outDir = resolve(optionValue(argv, '--out-dir') ?? DIST);
  // Imports are timed this many times in fresh processes and the median reported; once when packing.
  const samples = args.has('--no-measure') ? 0 : process.env.npm_lifecycle_event === 'prepack' ? 1 : 3;

  const started = performance.now();
  if (outDir === DIST) await rm(DIST, { recursive: true, force: true });
  else await rm(join(outDir, 'functions'), { recursive: true, force: true });
  await mkdir(join(outDir, 'functions'), { recursive: true });
  const functions = functionEntries(join(outDir, 'functions'));
  const targets = [...functions, ...(args.has('--functions-only') ? [] : cliEntry(outDir))];
  if (targets.length === 0) {
    console.log('build: nothing to bundle');
    return;
  }

  const sizes = await Promise.all(targets.map((target) => bundle(target)));
  console.log('build: bundles (minified, AWS SDK bundled)');
  for (const [index, target] of targets.entries()) {
    const isFunction = target.name !== 'cli';
    await report(shown(target.outfile), target.outfile, sizes[index], samples, isFunction);
    // The CLI runs from an installed package, whose node_modules has every dependency already.
    if (!isFunction) continue;
    for (const shipped of await shipLazyModules(target.outfile, target.target)) {
      const label = `+ ${shown(shipped.dir)}`;
      console.log(`    ${label.padEnd(36)} ${kib(shipped.bytes).padStart(11)}  loaded on first use`);
    }
  }

  if (!args.has('--functions-only') && !args.has('--no-library')) {
    const emitted = await emitLibrary(outDir);
    console.log(
      emitted
        ? `build: library and construct (tsc) → ${shown(join(outDir, 'esm'))}`
        : 'build: typescript is not installed, skipping the library',
    );
  }

  if (args.has('--compare-sdk')) {
    console.log(
      'build: the same functions with the AWS SDK left to the runtime (imported from node_modules here)',
    );
    // Inside the repository, so that the SDK resolves from its node_modules.
    const compareDir = join(DIST, 'compare');
    for (const target of functions) {
      const external = { ...target, outfile: join(compareDir, `${target.name}.mjs`) };
      const bytes = await bundle(external, { externalSdk: true });
      await report(`${target.name} (SDK external)`, external.outfile, bytes, samples, true);
    }
    await rm(compareDir, { recursive: true, force: true });
  }
  console.log(`build: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) await main(process.argv.slice(2));
