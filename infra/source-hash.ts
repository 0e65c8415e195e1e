/**
 * The asset hash of a function bundle, computed from what the bundle is made of: the TypeScript sources,
 * the JSON schemas, the lock file, the build script and the bundling options. Hashing these few files is quick, whereas
 * the CDK default would either bundle first or fingerprint the whole project root, node_modules included.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Folders whose files end up in the bundles. */
const SOURCE_FOLDERS = ['lib', 'functions', 'schema'];
const SOURCE_FILE = /\.(ts|mts|js|mjs|json)$/;

let cachedTreeHash: { root: string; hash: string } | undefined;

function sourceFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // an optional folder that does not exist
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE_FILE.test(entry.name)) files.push(full);
    }
  };
  for (const folder of SOURCE_FOLDERS) walk(path.join(root, folder));
  // The lock file pins what is bundled; the build script ships the lazily loaded packages.
  files.push(path.join(root, 'package-lock.json'), path.join(root, 'scripts', 'build.mjs'));
  return files.sort();
}

function treeHash(root: string): string {
  if (cachedTreeHash?.root === root) return cachedTreeHash.hash;
  const hash = createHash('sha256');
  for (const file of sourceFiles(root)) {
    hash.update(path.relative(root, file)).update('\0');
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update('missing');
    }
    hash.update('\0');
  }
  cachedTreeHash = { root, hash: hash.digest('hex') };
  return cachedTreeHash.hash;
}

export function functionAssetHash(root: string, entry: string, bundlingOptions: unknown): string {
  return createHash('sha256')
    .update(treeHash(root))
    .update(entry)
    .update(JSON.stringify(bundlingOptions))
    .digest('hex');
}
