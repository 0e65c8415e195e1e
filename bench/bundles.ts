/**
 * Builds what the benchmark runs, into the benchmark's own folder (dist/ belongs to `npm run build`):
 * the CLI and the raw drain as child-process entry points with the release esbuild settings, and the
 * Lambda handlers through scripts/build.mjs itself, whose size and module init time scenario 5 reports.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { build, stop as stopEsbuild } from 'esbuild';
import {
  buildFunctionBundles,
  ESBUILD_OPTIONS,
  initMs,
  precompiledConfigValidator,
} from '../scripts/build.mjs';
import { median } from './stats.ts';

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
  /** The S3 path alone: store + notifier, CPU per message (scenario 6). */
  readonly s3Path: string;
  /** One poll worker of the fleet scenario: the built poll handler fed by the job queue (scenario 7). */
  readonly fleetWorker: string;
}

export interface LambdaBundle {
  readonly name: string;
  readonly bytes: number;
  readonly initMs: { median: number; min: number; max: number };
}

/**
 * One child-process entry point, with the release build's esbuild settings and plugin (scripts/build.mjs):
 * the config validator is compiled at build time, as in the shipped CLI and functions.
 */
async function bundle(entry: string, outfile: string, target: string, minify = true): Promise<number> {
  const plugins = [await precompiledConfigValidator()];
  await build({ ...ESBUILD_OPTIONS, entryPoints: [entry], outfile, target, minify, plugins });
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
  // The Lambda handlers exactly as `npm run build` makes them, lazily loaded packages beside them.
  const lambdas = new Map(
    (await buildFunctionBundles(path.join(outDir, 'functions'))).map((fn) => [fn.name, fn.outfile] as const),
  );
  const built: BuiltBundles = {
    poller: file('poller.mjs'),
    rawDrain: file('raw-drain.mjs'),
    pollerDiscard: file('poller-discard.mjs'),
    pollerForProfiling: options.forProfiling ? file('poller-unminified.mjs') : undefined,
    delayProxy: file('delay-proxy.mjs'),
    s3Path: file('s3-path.mjs'),
    fleetWorker: file('fleet-worker.mjs'),
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
    bundle(child('s3-path.ts'), built.s3Path, 'node20'),
    bundle(child('fleet-worker.ts'), built.fleetWorker, 'node20'),
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
    for (let i = 0; i < samples; i++) times.push(await initMs(file, 1));
    results.push({
      name,
      bytes: statSync(file).size,
      initMs: { median: median(times), min: Math.min(...times), max: Math.max(...times) },
    });
  }
  return results;
}
