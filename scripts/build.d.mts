// Types of what scripts/build.mjs exports to other tooling (bench/bundles.ts, tests).
import type { BuildOptions, Plugin } from 'esbuild';

export const ESBUILD_OPTIONS: Readonly<BuildOptions>;
/** The esbuild plugin that puts the config validator, compiled at build time, into a bundle. */
export function precompiledConfigValidator(): Promise<Plugin>;
export function buildFunctionBundles(
  outDir?: string,
): Promise<Array<{ name: string; outfile: string; bytes: number; lazyModules: unknown[] }>>;
export function initMs(outfile: string, samples?: number): Promise<number>;
export const PACKAGE_VERSION: string;
export function emitLibrary(outDir?: string): Promise<boolean>;
