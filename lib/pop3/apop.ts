/**
 * APOP (RFC 1939 §7): the client proves it knows the password by sending MD5(timestamp + password), where
 * the timestamp is the msg-id the server put in its greeting.
 *
 * The digest is only as safe as the timestamp: CVE-2007-1558 showed that a server (or a man in the middle)
 * choosing timestamps with arbitrary bytes can recover the password a few characters at a time through
 * MD5 collisions. The defence every client adopted is to accept only timestamps in msg-id syntax, which
 * leaves the attacker too little freedom. `isValidApopTimestamp` is that guard; the client must call it
 * before `apopDigest`.
 */
import { createHash } from 'node:crypto';

/**
 * Longest timestamp accepted. The whole greeting line is at most 512 octets (RFC 2449 §4); a real
 * timestamp is well under 100 characters.
 */
export const MAX_APOP_TIMESTAMP_LENGTH = 255;

/** atext (RFC 5322 §3.2.3) plus '.', the characters of a dot-atom (obsolete runs of dots tolerated). */
const DOT_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+";
/** no-fold-literal (RFC 5322 §3.6.4): '[' dtext* ']', dtext being printable ASCII except '[', ']', '\'. */
const NO_FOLD_LITERAL = '\\[[\\x21-\\x5a\\x5e-\\x7e]*\\]';
/** msg-id = "<" id-left "@" id-right ">" (RFC 5322 §3.6.4), with no CFWS, no quoted local part. */
const MSG_ID = new RegExp(`^<${DOT_ATOM}@(?:${DOT_ATOM}|${NO_FOLD_LITERAL})>$`);

/** Whether `timestamp` is a strict msg-id: exactly one `<...@...>`, printable ASCII only, nothing around it. */
export function isValidApopTimestamp(timestamp: string): boolean {
  return timestamp.length <= MAX_APOP_TIMESTAMP_LENGTH && MSG_ID.test(timestamp);
}

/** The APOP digest: lowercase hex MD5 of the timestamp (angle brackets included) followed by the password. */
export function apopDigest(timestamp: string, password: string): string {
  return createHash('md5')
    .update(Buffer.from(timestamp + password, 'utf8'))
    .digest('hex');
}
