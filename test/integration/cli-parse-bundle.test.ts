/**
 * `mailbox-poller parse FILE.eml [--out DIR]` as shipped (the built CLI bundle): the same document and part
 * files the parse stage writes to S3, each part the bytes simpleParser yields, files private to their
 * owner; a message the parser gives up on still gets its document, with exit status 1; a usage mistake is
 * one line and exit 2.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ParsedDocument } from '../../lib/parsed/document.ts';
import { type BuiltCli, buildCliBundle, runBuiltCli } from '../support/cli-bundle.ts';
import { describeWithCorpus, loadCorpus } from '../support/corpus.ts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describeWithCorpus('parse command (built CLI)', () => {
  let cli: BuiltCli;

  beforeAll(async () => {
    cli = await buildCliBundle('cli-parse-');
  }, 180_000);

  afterAll(async () => {
    await cli?.remove();
  });

  it('writes message.json and parts/<n>, each part as simpleParser yields it', async () => {
    const message = loadCorpus().find(
      (m) => m.bytes.includes('Content-Disposition: attachment') && m.bytes.includes('base64'),
    )!;
    const file = path.join(cli.dir, 'message.eml');
    await writeFile(file, message.bytes);
    const run = await runBuiltCli(cli.runner, ['parse', file], { env: process.env });
    expect(run.status).toBe(0);
    const outDir = path.join(cli.dir, 'message.parsed');
    expect(run.stdout).toContain(path.join(outDir, 'message.json'));
    const document = JSON.parse(await readFile(path.join(outDir, 'message.json'), 'utf8')) as ParsedDocument;
    const reference = await simpleParser(message.bytes);
    expect(document.status).toBe('parsed');
    expect(document.raw).toEqual({
      key: 'message.eml',
      size: message.bytes.length,
      sha256: sha256(message.bytes),
    });
    expect(document.parts.length).toBe(reference.attachments.length);
    expect(document.parts.length).toBeGreaterThan(0);
    for (const [i, part] of document.parts.entries()) {
      expect(part.key).toBe(`parts/${i + 1}`);
      const stored = await readFile(path.join(outDir, part.key));
      expect(sha256(stored)).toBe(sha256(reference.attachments[i]!.content));
      expect((await stat(path.join(outDir, part.key))).mode & 0o777).toBe(0o600);
    }
    expect(document.subject).toBe(reference.subject ?? null);
  }, 60_000);

  it('a message the parser gives up on: the document says why, exit 1', async () => {
    const file = path.join(cli.dir, 'broken.eml');
    await writeFile(file, `Subject: x\r\nX-Long: ${'a'.repeat(2 * 1024 * 1024)}\r\n\r\nbody\r\n`);
    const outDir = path.join(cli.dir, 'out-broken');
    const run = await runBuiltCli(cli.runner, ['parse', file, '--out', outDir], { env: process.env });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('parser-error');
    const document = JSON.parse(await readFile(path.join(outDir, 'message.json'), 'utf8')) as ParsedDocument;
    expect(document.status).toBe('failed');
    expect(document.failure?.reason).toBe('parser-error');
  }, 60_000);

  it('no file: one line and where the help is, exit 2; --help prints the usage', async () => {
    const run = await runBuiltCli(cli.runner, ['parse'], { env: process.env });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      "mailbox-poller: name one FILE.eml to parse\nSee 'mailbox-poller parse --help'.\n",
    );
    const help = await runBuiltCli(cli.runner, ['parse', '--help'], { env: process.env });
    expect(help.stdout).toMatch(/^Usage: mailbox-poller parse FILE\.eml/);
  }, 60_000);
});
