/**
 * The mailbox-poller CLI as the benchmark runs it: bundled like dist/cli.mjs and started in its own
 * process, so the S3/SQS emulator in the harness never shares its event loop.
 */
import { main } from '../../lib/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
