/**
 * Where each function's code comes from.
 *
 * - `prebuilt`: the bundles `npm run build` made before the package was packed, in
 *   dist/functions/<name>/ (the handler bundle, its source map, and node_modules/ with the packages it
 *   loads on demand), deployed as they are. An app that installed the package synthesizes with them: it
 *   needs no esbuild, no Docker and no lock file of ours, and deploys the bytes that were tested.
 * - `source`: bundled from functions/<name>.ts at synth time (NodejsFunction with BUNDLING), for work on
 *   this repository, so that what is deployed is what is checked out, never a stale dist/.
 *
 * The default is `source` where the sources are (a checkout: the package does not ship functions/), else
 * `prebuilt`. The context key FUNCTION_CODE_CONTEXT chooses explicitly, e.g.
 * `cdk synth -c mailbox-poller:functionCode=prebuilt`.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Construct } from 'constructs';
import { PROJECT_ROOT } from './defaults.ts';

export const FUNCTION_CODE_CONTEXT = 'mailbox-poller:functionCode';

export type FunctionCode =
  | { readonly kind: 'prebuilt'; readonly directory: string; readonly handler: string }
  | { readonly kind: 'source'; readonly entry: string };

/** The code of function `name` (functions/<name>.ts): its prebuilt folder, or its source to bundle. */
export function functionCodeFor(scope: Construct, name: string): FunctionCode {
  const entry = path.join(PROJECT_ROOT, 'functions', `${name}.ts`);
  const directory = path.join(PROJECT_ROOT, 'dist', 'functions', name);
  const bundle = path.join(directory, `${name}.mjs`);
  const chosen = scope.node.tryGetContext(FUNCTION_CODE_CONTEXT) as unknown;
  if (chosen !== undefined && chosen !== 'prebuilt' && chosen !== 'source') {
    throw new Error(
      `context ${FUNCTION_CODE_CONTEXT} is 'prebuilt' or 'source', not ${JSON.stringify(chosen)}`,
    );
  }
  const kind = chosen ?? (existsSync(entry) ? 'source' : 'prebuilt');
  if (kind === 'source') {
    if (!existsSync(entry)) {
      throw new Error(
        `${FUNCTION_CODE_CONTEXT}=source needs the function sources (${entry}), which only a checkout of ` +
          'mailbox-poller has; the installed package deploys its prebuilt bundles',
      );
    }
    return { kind, entry };
  }
  if (!existsSync(bundle)) {
    throw new Error(
      `the prebuilt bundle of the ${name} function is missing (${bundle}); ` +
        `run \`npm run build\` in ${PROJECT_ROOT}, or bundle from the sources with ${FUNCTION_CODE_CONTEXT}=source`,
    );
  }
  return { kind, directory, handler: `${name}.handler` };
}
