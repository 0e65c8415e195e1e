#!/usr/bin/env node
/**
 * Bundles the Lambda handlers (functions/*.ts → dist/functions/<name>.mjs) and the CLI
 * (lib/cli/main.ts → dist/cli.mjs), then reports each bundle's size and its module init time, measured by
 * importing it in a fresh `node` process.
 *
 * The AWS SDK is bundled, not left to the Lambda runtime: `--compare-sdk` builds both variants and prints
 * the numbers behind that choice. Runs on `npm ci` (the `prepare` script), so it is quick, skips entries
 * that do not exist, and steps aside when esbuild is not installed (a production-only install).
 *
 *   node scripts/build.mjs [--compare-sdk] [--no-measure]
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Targets the functions must meet (cold start budget of the poller). */
const MAX_FUNCTION_BYTES = 1024 * 1024;
const MAX_INIT_MS = 200;
/** Imports are timed this many times in fresh processes and the median reported; once on `npm ci`. */
const INIT_SAMPLES = process.env.npm_lifecycle_event === 'prepare' ? 1 : 3;

/** Lets the ESM bundle satisfy CommonJS dependencies that call `require` for Node built-ins. */
const REQUIRE_BANNER =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

const args = new Set(process.argv.slice(2));
const run = promisify(execFile);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('build: esbuild is not installed (production install?), skipping the bundles');
  process.exit(0);
}

function functionEntries() {
  const dir = join(ROOT, 'functions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts'))
    .map((name) => ({
      name: basename(name, '.ts'),
      entry: join(dir, name),
      outfile: join(DIST, 'functions', `${basename(name, '.ts')}.mjs`),
      target: 'node22',
    }));
}

function cliEntry() {
  const entry = join(ROOT, 'lib', 'cli', 'main.ts');
  return existsSync(entry) ? [{ name: 'cli', entry, outfile: join(DIST, 'cli.mjs'), target: 'node20' }] : [];
}

async function bundle({ entry, outfile, target }, { externalSdk = false } = {}) {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target,
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    external: externalSdk ? ['@aws-sdk/*', '@smithy/*'] : [],
    logLevel: 'warning',
    legalComments: 'none',
  });
  return statSync(outfile).size;
}

/** Median wall time of `await import(bundle)` in a fresh process (the module's cold init). */
async function initMs(outfile) {
  const script =
    'const t = performance.now(); await import(process.argv[1]); ' +
    'process.stdout.write(String(performance.now() - t));';
  const samples = [];
  for (let i = 0; i < INIT_SAMPLES; i++) {
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', script, pathToFileURL(outfile).href],
      {
        cwd: ROOT,
        env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' },
      },
    );
    samples.push(Number(stdout));
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

async function report(label, target, bytes, measure, isFunction) {
  const init = measure ? await initMs(target.outfile) : undefined;
  const warnings = [];
  if (isFunction && bytes > MAX_FUNCTION_BYTES) warnings.push(`over ${kib(MAX_FUNCTION_BYTES)}`);
  if (isFunction && init !== undefined && init > MAX_INIT_MS) warnings.push(`init over ${MAX_INIT_MS} ms`);
  const initText = init === undefined ? '' : `  init ${init.toFixed(0)} ms`;
  console.log(
    `  ${label.padEnd(28)} ${kib(bytes).padStart(11)}${initText}${warnings.length ? `  (${warnings.join(', ')})` : ''}`,
  );
}

const started = performance.now();
await rm(DIST, { recursive: true, force: true });
await mkdir(join(DIST, 'functions'), { recursive: true });
const functions = functionEntries();
const targets = [...functions, ...cliEntry()];
if (targets.length === 0) {
  console.log('build: nothing to bundle');
  process.exit(0);
}

const sizes = await Promise.all(targets.map((target) => bundle(target)));
const measure = !args.has('--no-measure');
console.log('build: bundles (minified, AWS SDK bundled)');
for (const [index, target] of targets.entries()) {
  const label = target.name === 'cli' ? 'dist/cli.mjs' : `dist/functions/${target.name}.mjs`;
  await report(label, target, sizes[index], measure, target.name !== 'cli');
}

if (args.has('--compare-sdk')) {
  console.log(
    'build: the same functions with the AWS SDK left to the runtime (imported from node_modules here)',
  );
  for (const target of functions) {
    const external = { ...target, outfile: join(DIST, 'compare', `${target.name}.mjs`) };
    const bytes = await bundle(external, { externalSdk: true });
    await report(`${target.name} (SDK external)`, external, bytes, measure, true);
  }
  await rm(join(DIST, 'compare'), { recursive: true, force: true });
}
console.log(`build: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
