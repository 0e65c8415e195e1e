#!/usr/bin/env node
// The CLI is bundled to dist/cli.mjs by `npm run build` (run automatically by `npm ci`/`npm install`).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write('mailbox-poller is not built yet: run `npm run build` in its folder\n');
  process.exit(2);
}
const { main } = await import(bundle.href);
process.exitCode = await main(process.argv.slice(2));
