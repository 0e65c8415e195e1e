#!/usr/bin/env node
// The CLI is bundled to dist/cli.mjs by `npm run build` (run automatically by `npm ci`/`npm install` in a
// checkout, and before `npm pack`/`npm publish`, so an installed package always has it).
import { existsSync } from 'node:fs';

// The AWS SDK inside dist/cli.mjs is bundled, so its version is the one this release was built and tested
// with: its notice that later SDK releases will need a newer Node.js tells a CLI user nothing they can
// act on (`engines` in package.json says which Node.js versions this package supports). The SDK's
// documented switch turns it off; a value the user set is left alone.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const bundle = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('mailbox-poller is not built yet: run `npm run build` in its folder\n');
  process.exit(2);
}
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
