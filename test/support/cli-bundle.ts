/**
 * The CLI as shipped: scripts/build.mjs itself (not a copy of its settings) builds into a temp folder of
 * our own (dist/ may be in use by someone running the CLI), and each run is the bundle in a fresh `node`
 * with only the environment a test gives it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);

export interface BuiltCli {
  /** The temp folder holding the bundle; tests put their config and output folders in it too. */
  readonly dir: string;
  /** A script running the bundled CLI's main with its own argv, exiting with main's exit code. */
  readonly runner: string;
  /** Deletes the folder. */
  remove(): Promise<void>;
}

/** Builds the CLI bundle into a new temp folder named after `prefix`. */
export async function buildCliBundle(prefix: string): Promise<BuiltCli> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await exec(process.execPath, ['scripts/build.mjs', '--out-dir', dir, '--no-measure'], { cwd: ROOT });
  const runner = path.join(dir, 'run.mjs');
  await writeFile(
    runner,
    "import { main } from './cli.mjs';\nprocess.exitCode = await main(process.argv.slice(2));\n",
  );
  return { dir, runner, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CliRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The bundled CLI with `args` in a fresh `node`; a non-zero exit is a result, not an error. */
export async function runBuiltCli(
  runner: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv },
): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [runner, ...args], options);
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { status: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
