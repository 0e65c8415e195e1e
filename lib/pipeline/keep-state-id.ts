/**
 * How a keep-mode state names a message: by its unique-id when that is one RFC 1939 §7 allows (1 to 70
 * characters in 0x21-0x7E), by `sha256:` and the SHA-256 of its octets otherwise. Servers send longer and
 * 8-bit unique-ids (a listing line may hold 1,000 octets), and the state must not grow with them: the
 * hashed form is 71 characters whatever the unique-id. Matching stays exact: two unique-ids share a
 * state id only when they are equal (or SHA-256 collides), and `sha256:` plus 64 hex digits is 71
 * characters, longer than any RFC unique-id, so it can never be taken for one.
 */
import { createHash } from 'node:crypto';
import { MAX_UIDL_OCTETS } from '../pop3/limits.ts';

const RFC_1939_UIDL = new RegExp(`^[\\x21-\\x7e]{1,${MAX_UIDL_OCTETS}}$`);
const HASHED_STATE_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * The state id of a unique-id from a UIDL listing. The client reads listings as latin1, one character per
 * octet, so the hash is over the octets the server sent.
 */
export function stateIdOf(uidl: string): string {
  if (RFC_1939_UIDL.test(uidl)) return uidl;
  return `sha256:${createHash('sha256').update(uidl, 'latin1').digest('hex')}`;
}

/**
 * The state id of an entry as loaded. States written before ids were hashed hold long unique-ids as they
 * are: those are hashed now, so they still match their message; a hashed id stays as it is.
 */
export function loadedStateId(id: string): string {
  return HASHED_STATE_ID.test(id) ? id : stateIdOf(id);
}
