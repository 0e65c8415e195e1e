/**
 * An outcome's message is one line, whatever text it quotes: the CLI prints it as one line of stderr and
 * the poll function logs it as one field, for the CLI and the Lambda alike (both build outcomes through
 * RunRecord and classifyFailure).
 */
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { RunRecord } from '../../../lib/pipeline/run-record.ts';
import { Pop3SecurityError } from '../../../lib/pop3/errors.ts';

/** What Node's TLS layer says when the peer is not speaking TLS: OpenSSL's text, with its line break. */
function openSslError(): Error {
  const cause = Object.assign(
    new Error(
      'C0F7A1E7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:355:\n',
    ),
    { code: 'ERR_SSL_WRONG_VERSION_NUMBER' },
  );
  return new Pop3SecurityError(`TLS connection to 127.0.0.1:110 failed: ${cause.message}`, { cause });
}

describe('outcome messages are one line', () => {
  it('a TLS failure quoting OpenSSL, with and without the connection hint', () => {
    const context = { tls: 'implicit', port: 110, connected: false } as const;
    for (const classified of [classifyFailure(openSslError()), classifyFailure(openSslError(), context)]) {
      expect(classified.message).not.toMatch(/[\r\n]/);
      expect(classified.message).toContain('wrong version number');
    }
    expect(classifyFailure(openSslError(), context).message).toMatch(
      /ssl3_record\.c:355:; the server answered/,
    );
  });

  it('a failed run and a stopped run', () => {
    const failed = new RunRecord('support').fail(openSslError());
    expect(failed.message).not.toMatch(/[\r\n]/);
    const record = new RunRecord('support');
    record.found(0);
    record.stop({ reason: 'rate-limited', message: 'download exceeded\r\n  try again tomorrow' });
    expect(record.finish(undefined, undefined).message).toBe('download exceeded try again tomorrow');
  });
});
