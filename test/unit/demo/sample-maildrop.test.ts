/**
 * The demo's POP3 server (lib/demo/sample-maildrop.ts) keeps the commit rule the demo shows: DELE only
 * marks, QUIT commits, a dropped connection deletes nothing; and RETR's dot-stuffing and the client's
 * unstuffing give back the stored bytes. Driven with the project's own client, as the demo does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { dotStuffed, type SampleMaildrop, startSampleMaildrop } from '../../../lib/demo/sample-maildrop.ts';
import { SAMPLE_MESSAGES } from '../../../lib/demo/sample-messages.ts';
import { Pop3Client } from '../../../lib/index.ts';

const CREDENTIALS = { kind: 'password', username: 'demo@example.com', password: 'pw' } as const;

let maildrop: SampleMaildrop | undefined;
afterEach(async () => {
  await maildrop?.close();
  maildrop = undefined;
});

async function start(): Promise<SampleMaildrop> {
  maildrop = await startSampleMaildrop({
    user: CREDENTIALS.username,
    password: CREDENTIALS.password,
    messages: SAMPLE_MESSAGES.map((sample) => sample.bytes),
  });
  return maildrop;
}

describe('the sample maildrop', () => {
  it('dot-stuffs every line that starts with a dot, and only those', () => {
    const stuffed = dotStuffed(Buffer.from('.a\r\nb\r\n..c\r\nd.e\r\n'));
    expect(stuffed.toString()).toBe('..a\r\nb\r\n...c\r\nd.e\r\n');
  });

  it('deletes nothing for a session that drops, and what was marked once QUIT commits', async () => {
    const server = await start();
    const options = { host: server.host, port: server.port, tls: 'none', allowInsecureAuth: true } as const;
    const first = await Pop3Client.connectAndLogin(options, CREDENTIALS);
    await first.dele(1);
    first.abort();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.remaining()).toHaveLength(SAMPLE_MESSAGES.length);

    const second = await Pop3Client.connectAndLogin(options, CREDENTIALS);
    const dotted = SAMPLE_MESSAGES.findIndex((sample) => sample.what === 'lines that start with a dot') + 1;
    const chunks: Buffer[] = [];
    for await (const chunk of second.retr(dotted)) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks)).toEqual(SAMPLE_MESSAGES[dotted - 1]!.bytes);
    await second.dele(1);
    await second.quit();
    expect(server.remaining()).toEqual(SAMPLE_MESSAGES.slice(1).map((sample) => sample.bytes));
  });
});
