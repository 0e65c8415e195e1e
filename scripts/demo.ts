/**
 * `npm run demo`: `mailbox-poller demo` (lib/cli/demo.ts) run from this checkout's sources, so it needs no
 * build: a sample POP3 maildrop in this process is polled into local files and every stored byte and
 * notification is checked. Arguments are passed on (`npm run demo -- --out DIR`).
 */
import { main } from '../lib/cli/main.ts';

// The SDK warns on Node 20 about its releases from 2027 on; bin/mailbox-poller.js turns the note off too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(['demo', ...process.argv.slice(2)]);
