const CRLF = Buffer.from('\r\n');

/**
 * What Dovecot serves for a seeded (CRLF-normalised) message: the stored bytes, plus a final CRLF when the
 * message lacks one (RFC 1939 §3: a multi-line reply's last line ends in CRLF before the terminator).
 */
export function servedByDovecot(seeded: Buffer): Buffer {
  return seeded.length === 0 || seeded.subarray(-2).equals(CRLF) ? seeded : Buffer.concat([seeded, CRLF]);
}
