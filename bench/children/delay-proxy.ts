/**
 * The delaying TCP proxy (test/support/tcp-proxy.ts) in a process of its own, so its timers never wait
 * behind the S3/SQS emulator's work in the harness process. Prints its port, then runs until killed.
 *
 *   node delay-proxy.mjs TARGET_HOST TARGET_PORT ONE_WAY_DELAY_MS
 */
import { startTcpProxy } from '../../test/support/tcp-proxy.ts';

const [host = '127.0.0.1', port = '110', delayMs = '25'] = process.argv.slice(2);
const proxy = await startTcpProxy({ target: { host, port: Number(port) }, delayMs: Number(delayMs) });
process.stdout.write(`${proxy.port}\n`);
