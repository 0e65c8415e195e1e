/**
 * What a function bundle's dependencies load only for some messages, left out of the bundle and put
 * beside it, where Node's `require` finds it the first time it is needed (scripts/build.mjs).
 *
 * The parse function (mailparser, and libmime under it) brings code and tables most messages never use;
 * every byte of a bundle is read and parsed at each cold start (the size line in build.mjs). What goes:
 * - iconv-lite's double-byte tables (Shift_JIS, EUC-JP, EUC-KR, Big5, GB18030): read by iconv-lite itself
 *   only when a codec is first built (encodings/dbcs-data.js: "Tables are not require()-d until they are
 *   needed"), so a mail in those charsets reads them then. GBK's tables (cp936, gbk-added) stay inside:
 *   libmime builds the GBK codec as it loads (charset.js DBCS_DECODER), so every start needs them.
 * - encoding-japanese: libmime decodes ISO-2022-JP and EUC-JP bodies and words with it, nothing else.
 * - html-to-text (with htmlparser2, entities, ...): mailparser makes text of HTML with it only for a
 *   message whose HTML has no text part beside it.
 * Each package is replaced in the bundle by a stub with the package's own export names, each of which
 * loads the package (once) when it is first called or read. The stub's `require` is left to run time,
 * where the bundle's banner makes it Node's, resolving node_modules/ beside the bundle.
 *
 * libmime is also bundled once instead of twice: mailsplit `require`s its CommonJS build, mailparser
 * imports its ES build, and both are the same code of the same version. One copy keeps the CommonJS one,
 * whose `module.exports` is the same instance an `import libmime from 'libmime'` gets.
 */
import { statSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const requireFromRoot = createRequire(join(ROOT, 'package.json'));

/** Packages replaced by a stub that loads them on first use; shipped by build.mjs (LAZY_MODULES). */
export const DEFERRED_PACKAGES = ['encoding-japanese', 'html-to-text'];

/** iconv-lite's tables every start reads (see above); the others are deferred. */
const TABLES_KEPT = new Set(['cp936.json', 'gbk-added.json']);
const ICONV_DBCS_DATA = /[\\/]node_modules[\\/]iconv-lite[\\/]encodings[\\/]dbcs-data\.js$/;
const ICONV_TABLE = /^\.\/tables\/([a-z0-9-]+\.json)$/;
/** A deferred table as the bundle names it (and as Node resolves it beside the bundle). */
const DEFERRED_TABLE_PATH = /"iconv-lite\/encodings\/tables\/([a-z0-9-]+\.json)"/g;

const NAMESPACE = 'deferred-dependency';

/** The esbuild plugin that leaves the dependencies above out of a function's bundle. */
export function deferredDependencies() {
  return {
    name: 'deferred-dependencies',
    setup(build) {
      build.onResolve({ filter: ICONV_TABLE }, (args) => {
        const table = ICONV_TABLE.exec(args.path)?.[1];
        if (!ICONV_DBCS_DATA.test(args.importer) || table === undefined || TABLES_KEPT.has(table)) return;
        return { path: `iconv-lite/encodings/tables/${table}`, external: true };
      });
      const names = new RegExp(`^(${DEFERRED_PACKAGES.join('|')})$`);
      build.onResolve({ filter: names }, (args) =>
        args.namespace === NAMESPACE
          ? { path: args.path, external: true }
          : { path: args.path, namespace: NAMESPACE },
      );
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
        contents: stubOf(args.path),
        loader: 'js',
        resolveDir: ROOT,
      }));
      build.onResolve({ filter: /^libmime$/ }, () => ({ path: requireFromRoot.resolve('libmime') }));
    },
  };
}

/**
 * CommonJS that exports the names `name` exports, each loading `name` at first use: functions are called
 * on the package, other values read from it.
 */
function stubOf(name) {
  const real = requireFromRoot(name);
  const lines = [`let loaded;`, `const load = () => (loaded ??= require(${JSON.stringify(name)}));`];
  for (const key of Object.keys(real)) {
    const property = JSON.stringify(key);
    lines.push(
      typeof real[key] === 'function'
        ? `exports[${property}] = function (...args) { return load()[${property}](...args); };`
        : `Object.defineProperty(exports, ${property}, { enumerable: true, get: () => load()[${property}] });`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Copies beside `bundleFile` (node_modules/iconv-lite/encodings/tables/) the iconv-lite tables it left
 * out; resolves with `{ name, dir, bytes }`, or nothing when it left none out.
 */
export async function shipDeferredTables(code, bundleFile) {
  const tables = [...new Set([...code.matchAll(DEFERRED_TABLE_PATH)].map((match) => match[1]))];
  if (tables.length === 0) return [];
  const source = dirname(requireFromRoot.resolve('iconv-lite/package.json'));
  const dir = join(dirname(bundleFile), 'node_modules', 'iconv-lite');
  await mkdir(join(dir, 'encodings', 'tables'), { recursive: true });
  const { version } = requireFromRoot('iconv-lite/package.json');
  // No `main`: only the tables are here, required by their paths.
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name: 'iconv-lite', version }, null, 2)}\n`);
  let bytes = 0;
  for (const table of tables.sort()) {
    const from = join(source, 'encodings', 'tables', table);
    await copyFile(from, join(dir, 'encodings', 'tables', table));
    bytes += statSync(from).size;
  }
  return [{ name: `iconv-lite tables (${tables.join(', ')})`, dir, bytes }];
}
