#!/usr/bin/env node
// The CLI is bundled to dist/cli.mjs by `npm run build`, which runs before `npm pack`/`npm publish` (the
// `prepack` script), so an installed package always has it. A checkout has no dist/ after `npm ci`: there
// the command runs lib/cli/main.ts from the sources through tsx (a dev dependency), so the commands the
// README and `npm run dev-server` print work without a build step.
import { existsSync } from 'node:fs';

// The AWS SDK inside dist/cli.mjs is bundled, so its version is the one this release was built and tested
// with: its notice that later SDK releases will need a newer Node.js tells a CLI user nothing they can
// act on (`engines` in package.json says which Node.js versions this package supports). The SDK's
// documented switch turns it off; a value the user set is left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const bundle = new URL('../dist/cli.mjs', import.meta.url);
const sources = new URL('../lib/cli/main.ts', import.meta.url);
let cli;
if (existsSync(bundle)) cli = await import(bundle.href);
else if (existsSync(sources)) {
  const { tsImport } = await import('tsx/esm/api');
  cli = await tsImport(sources.href, import.meta.url);
} else {
  process.stderr.write('mailbox-poller is not built: run `npm run build` in its folder\n');
  process.exit(2);
}
process.exitCode = await cli.main(process.argv.slice(2));
