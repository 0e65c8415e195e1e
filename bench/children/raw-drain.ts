/**
 * The practical limit: the least a POP3 client can do to drain a mailbox into files. USER/PASS/STAT,
 * then RETR n + DELE n for every message and QUIT in one pipelined write (RFC 2449 §6.6), unstuffing
 * each body (RFC 1939 §3) and writing it to `<out>/<n>.eml` as it completes. No checks, no durability.
 *
 *   node raw-drain.mjs HOST PORT USER PASSWORD OUT_DIR
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const [host = '127.0.0.1', port = '110', user = '', password = '', outDir = '.'] = process.argv.slice(2);
const CRLF_DOT = Buffer.from('\r\n.');

const socket = net.connect({ host, port: Number(port) });
socket.setNoDelay(true);
let buffer: Buffer = Buffer.alloc(0);
let wake: (() => void) | undefined;
let closed = false;
socket.on('data', (chunk: Buffer) => {
  buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
  wake?.();
});
socket.on('close', () => {
  closed = true;
  wake?.();
});
socket.on('error', (error) => fail(error.message));

function fail(why: string): never {
  process.stderr.write(`raw-drain: ${why}\n`);
  process.exit(1);
}

function more(): Promise<void> {
  if (closed) fail('connection closed early');
  return new Promise((resolve) => {
    wake = () => {
      wake = undefined;
      resolve();
    };
  });
}

async function statusLine(): Promise<string> {
  for (;;) {
    const end = buffer.indexOf('\r\n');
    if (end >= 0) {
      const line = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 2);
      if (!line.startsWith('+OK')) fail(`server said: ${line}`);
      return line;
    }
    await more();
  }
}

/** One multi-line body, unstuffed. Jumps from one "CRLF." to the next: lines without a dot cost nothing. */
async function body(): Promise<Buffer> {
  const parts: Buffer[] = [];
  let atLineStart = true;
  for (;;) {
    if (atLineStart) {
      if (buffer.length < 3) {
        await more();
        continue;
      }
      if (buffer[0] === 0x2e) {
        if (buffer[1] === 0x0d && buffer[2] === 0x0a) {
          buffer = buffer.subarray(3);
          return Buffer.concat(parts);
        }
        buffer = buffer.subarray(1);
      }
      atLineStart = false;
    }
    const found = buffer.indexOf(CRLF_DOT);
    if (found >= 0) {
      parts.push(buffer.subarray(0, found + 2));
      buffer = buffer.subarray(found + 2);
      atLineStart = true;
      continue;
    }
    // Keep the last two octets: they may be the start of a "CRLF." split across reads.
    const safe = Math.max(0, buffer.length - 2);
    parts.push(buffer.subarray(0, safe));
    buffer = buffer.subarray(safe);
    await more();
  }
}

await statusLine();
socket.write(`USER ${user}\r\n`);
await statusLine();
socket.write(`PASS ${password}\r\n`);
await statusLine();
socket.write('STAT\r\n');
const count = Number((await statusLine()).split(' ')[1]);
const commands: string[] = [];
for (let n = 1; n <= count; n++) commands.push(`RETR ${n}\r\nDELE ${n}\r\n`);
socket.write(`${commands.join('')}QUIT\r\n`);
fs.mkdirSync(outDir, { recursive: true });
for (let n = 1; n <= count; n++) {
  await statusLine();
  fs.writeFileSync(path.join(outDir, `${n}.eml`), await body());
  await statusLine();
}
await statusLine();
socket.end();
