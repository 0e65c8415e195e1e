/**
 * Every message of the shared corpus, stored in a real Dovecot and read back with RETR and TOP over
 * implicit TLS, then again with RETR over STLS and over a plain connection: the client must hand over
 * exactly the bytes Dovecot serves, not one more or less, whatever protects the connection.
 *
 * What Dovecot serves for a stored message (checked below, message by message):
 *   - The corpus is CRLF-normalised before it is stored (toCrlf), as an MTA would deliver it; Dovecot then
 *     sends the stored bytes unchanged, bare CR and NUL octets included.
 *   - A message that does not end with a line break gets a final CRLF appended: RFC 1939 §3 ends a
 *     multi-line reply with CRLF "." CRLF, so the last line must be complete. LIST still reports the
 *     stored size, without those two octets (a size in LIST is only a hint).
 */
import { createHash } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ListEntry, UidlEntry } from '../../lib/pop3/parsers.ts';
import { Pop3Client } from '../../lib/pop3-client/client.ts';
import { type CorpusMessage, describeWithCorpus, loadCorpus, toCrlf } from '../support/corpus.ts';
import { type DovecotServer, startDovecot } from '../support/dovecot.ts';

const ARCHIVE = { name: 'archive', password: 'archive-pop3-password' };
const CRLF = Buffer.from('\r\n');

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const endsWithLineBreak = (bytes: Buffer) => bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;

/** The bytes Dovecot sends for a stored message (see the rule at the top of this file). */
function servedBytes(stored: Buffer): Buffer {
  return endsWithLineBreak(stored) ? stored : Buffer.concat([stored, CRLF]);
}

/** The header section TOP n 0 returns: up to and including the empty line, or all of a body-less message. */
function headerSection(served: Buffer): Buffer {
  const end = served.indexOf('\r\n\r\n');
  return end === -1 ? served : served.subarray(0, end + 4);
}

describeWithCorpus('the corpus through Dovecot', () => {
  let server: DovecotServer;
  let client: Pop3Client;
  let corpus: CorpusMessage[];
  let stored: Buffer[];
  let listing: ListEntry[];
  let uidls: UidlEntry[];

  beforeAll(async () => {
    corpus = loadCorpus();
    stored = corpus.map((message) => toCrlf(message.bytes));
    server = await startDovecot({ users: [ARCHIVE] });
    await server.seed(ARCHIVE.name, stored);
    client = await Pop3Client.connect({
      host: server.host,
      port: server.pop3sPort,
      tls: 'implicit',
      ca: server.caPem,
      servername: 'localhost',
    });
    await client.login({ kind: 'password', username: ARCHIVE.name, password: ARCHIVE.password });
    [listing, uidls] = await Promise.all([client.list(), client.uidl()]);
  });

  afterAll(async () => {
    if (client && client.state !== 'UPDATE') await client.quit();
    await server?.stop();
  });

  it('Dovecot lists every stored message, in seed order, at its stored size', () => {
    expect(listing).toHaveLength(corpus.length);
    expect(listing.map((entry) => entry.octets)).toEqual(stored.map((bytes) => bytes.length));
    expect(new Set(uidls.map((entry) => entry.uidl)).size).toBe(corpus.length);
  });

  it('RETR of every message, pipelined, returns exactly the bytes Dovecot serves (SHA-256)', async () => {
    const retrieved = await Promise.all(listing.map(({ msg }) => buffer(client.retr(msg))));
    const mismatches = corpus
      .map((message, index) => ({
        name: message.name,
        expected: sha256(servedBytes(stored[index]!)),
        actual: sha256(retrieved[index]!),
      }))
      .filter(({ expected, actual }) => expected !== actual);
    expect(mismatches).toEqual([]);
  });

  it('the only messages Dovecot changes are those without a final line break, which gain a CRLF', async () => {
    const changed = corpus
      .filter((_, index) => !endsWithLineBreak(stored[index]!))
      .map((message) => message.name);
    // The manifest marks them independently of the rule above.
    const marked = corpus
      .filter((message) => message.features.includes('no-final-newline'))
      .map((m) => m.name);
    expect(changed).toEqual(marked);
    expect(changed.length).toBeGreaterThan(0);

    // And the bytes confirm it: the stored message itself, then CRLF.
    const index = corpus.findIndex((message) => message.name === changed[0]);
    const retrieved = await buffer(client.retr(index + 1));
    expect(retrieved.subarray(0, -2).equals(stored[index]!)).toBe(true);
    expect(retrieved.subarray(-2).equals(CRLF)).toBe(true);
  });

  it('messages with bare CR, NUL octets and dot-lines come through unchanged', async () => {
    const special = corpus
      .map((message, index) => ({ message, index }))
      .filter(({ message }) => /bare-CR|NUL|dot-lines|lone-dot-line/.test(message.features));
    expect(special.length).toBeGreaterThan(0);
    for (const { message, index } of special) {
      const retrieved = await buffer(client.retr(index + 1));
      expect(retrieved.equals(servedBytes(stored[index]!)), message.name).toBe(true);
    }
  });

  it('TOP n 0 returns the header section of every message', async () => {
    const headers = await Promise.all(listing.map(({ msg }) => buffer(client.top(msg, 0))));
    const mismatches = corpus
      .map((message, index) => ({
        name: message.name,
        expected: sha256(headerSection(servedBytes(stored[index]!))),
        actual: sha256(headers[index]!),
      }))
      .filter(({ expected, actual }) => expected !== actual);
    expect(mismatches).toEqual([]);
  });

  it('reading did not change the maildrop, and QUIT is confirmed', async () => {
    expect(await client.stat()).toEqual({
      count: corpus.length,
      octets: stored.reduce((total, bytes) => total + bytes.length, 0),
    });
    expect(await client.quit()).toEqual({ confirmed: true, text: 'Logging out.' });
    expect(await server.messageCount(ARCHIVE.name)).toBe(corpus.length);
  });

  // After the implicit-TLS session above has quit: Dovecot lets one session at a time hold the maildrop.
  it.each([
    ['starttls', 'STLS on the plain port'],
    ['none', 'a plain connection (allowInsecureAuth; auto logs in with CRAM-MD5)'],
  ] as const)('RETR of every message over %s (%s) returns the same bytes', async (tls, _how) => {
    const other = await Pop3Client.connect({
      host: server.host,
      port: server.pop3Port,
      tls,
      ca: server.caPem,
      servername: 'localhost',
      allowInsecureAuth: tls === 'none',
    });
    await other.login({ kind: 'password', username: ARCHIVE.name, password: ARCHIVE.password });
    expect(other.encrypted).toBe(tls === 'starttls');
    const entries = await other.list();
    expect(entries).toHaveLength(corpus.length);
    const retrieved = await Promise.all(entries.map(({ msg }) => buffer(other.retr(msg))));
    const mismatches = corpus
      .map((message, index) => ({
        name: message.name,
        expected: sha256(servedBytes(stored[index]!)),
        actual: sha256(retrieved[index]!),
      }))
      .filter(({ expected, actual }) => expected !== actual);
    expect(mismatches).toEqual([]);
    expect(await other.quit()).toMatchObject({ confirmed: true });
  });
});
