/**
 * Builds what the benchmark runs, into the benchmark's own folder (dist/ belongs to `npm run build`):
 * the CLI and the raw drain as child-process entry points, and the Lambda handlers with the same esbuild
 * settings as scripts/build.mjs, whose size and module init time scenario 5 reports.
 */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, stop as stopEsbuild } from 'esbuild';
import { median } from './stats.ts';

const run = promisify(execFile);

/** As scripts/build.mjs: lets the ESM bundle satisfy CommonJS dependencies that `require` built-ins. */
const REQUIRE_BANNER =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

export interface ChildBundles {
  /** The CLI (`main(argv)`), run as `node poller.mjs poll --config ...`. */
  readonly poller: string;
  readonly rawDrain: string;
  /** Diagnostic: the poller's client and pipeline with a store and notifier that do nothing. */
  readonly pollerDiscard: string;
  /** The CLI unminified, with esbuild's module comments, for CPU profiles (see profile.ts); built on request. */
  readonly pollerForProfiling: string | undefined;
  /** The delaying TCP proxy, run in its own process. */
  readonly delayProxy: string;
}

export interface LambdaBundle {
  readonly name: string;
  readonly bytes: number;
  readonly initMs: { median: number; min: number; max: number };
}

async function bundle(entry: string, outfile: string, target: string, minify = true): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target,
    minify,
    sourcemap: 'linked',
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    logLevel: 'warning',
    legalComments: 'none',
  });
  return statSync(outfile).size;
}

export interface BuiltBundles extends ChildBundles {
  /** functions/*.ts bundled as for deployment: name → file. */
  readonly lambdas: ReadonlyMap<string, string>;
}

/** Everything at once: esbuild runs the builds in parallel. */
export async function buildBundles(
  root: string,
  outDir: string,
  options: { forProfiling: boolean },
): Promise<BuiltBundles> {
  const file = (name: string) => path.join(outDir, 'bin', name);
  const child = (name: string) => path.join(root, 'bench/children', name);
  const functionsDir = path.join(root, 'functions');
  const lambdas = new Map(
    readdirSync(functionsDir)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts'))
      .map((name) => [
        path.basename(name, '.ts'),
        path.join(outDir, 'functions', name.replace(/\.ts$/, '.mjs')),
      ]),
  );
  const built: BuiltBundles = {
    poller: file('poller.mjs'),
    rawDrain: file('raw-drain.mjs'),
    pollerDiscard: file('poller-discard.mjs'),
    pollerForProfiling: options.forProfiling ? file('poller-unminified.mjs') : undefined,
    delayProxy: file('delay-proxy.mjs'),
    lambdas,
  };
  await Promise.all([
    bundle(child('poller.ts'), built.poller, 'node20'),
    bundle(child('raw-drain.ts'), built.rawDrain, 'node20'),
    bundle(child('poller-discard.ts'), built.pollerDiscard, 'node20'),
    ...(built.pollerForProfiling
      ? [bundle(child('poller.ts'), built.pollerForProfiling, 'node20', false)]
      : []),
    bundle(child('delay-proxy.ts'), built.delayProxy, 'node20'),
    ...[...lambdas].map(([name, outfile]) =>
      bundle(path.join(functionsDir, `${name}.ts`), outfile, 'node22'),
    ),
  ]);
  // esbuild's service process would otherwise live as long as the harness.
  await stopEsbuild();
  return built;
}

/** Size and module init time (`await import(bundle)` in a fresh node, `samples` times) of each Lambda bundle. */
export async function measureLambdaBundles(
  lambdas: ReadonlyMap<string, string>,
  samples: number,
): Promise<LambdaBundle[]> {
  const results: LambdaBundle[] = [];
  for (const [name, file] of lambdas) {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await importMs(file));
    results.push({
      name,
      bytes: statSync(file).size,
      initMs: { median: median(times), min: Math.min(...times), max: Math.max(...times) },
    });
  }
  return results;
}
async function importMs(file: string): Promise<number> {
  const script =
    'const t = performance.now(); await import(process.argv[1]); ' +
    'process.stdout.write(String(performance.now() - t));';
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', script, pathToFileURL(file).href],
    { env: { ...process.env, AWS_REGION: process.env.AWS_REGION ?? 'us-east-1' } },
  );
  return Number(stdout);
}
