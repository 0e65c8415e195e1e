/**
 * Every size limit of the POP3 core, each with the rule it comes from. A limit that is our own choice
 * (no RFC gives one) says why it has the value it has.
 */

/**
 * Longest command line we send: keyword, arguments, the spaces between them AND the terminating CRLF,
 * 255 octets in all (RFC 2449 §4, which raised RFC 1939's 47). AUTH with an initial response is a
 * command and obeys it (RFC 5034 §4); the client responses that follow AUTH are not commands and do not.
 */
export const MAX_COMMAND_OCTETS = 255;

/**
 * Longest first line of a reply, the greeting included: 512 octets including the terminating CRLF
 * (RFC 2449 §4, unchanged from RFC 1939).
 */
export const MAX_STATUS_LINE_OCTETS = 512;

/** A unique-id is 1 to 70 characters in the range 0x21 to 0x7E (RFC 1939 §7, UIDL). */
export const MAX_UIDL_OCTETS = 70;

/**
 * Longest SASL continuation line ('+ ' base64 CRLF) we accept. RFC 5034 §4 takes challenges out of the
 * 512-octet status line limit and sets no other. Real challenges are small (CRAM-MD5 ~100 octets,
 * an XOAUTH2 error document a few hundred); 64 KiB leaves ample room for Kerberos/GSSAPI tokens while
 * a server that never ends the line still fails quickly instead of growing memory without bound.
 */
export const MAX_SASL_CHALLENGE_OCTETS = 64 * 1024;

/**
 * Longest line in a LIST, UIDL or CAPA body, CRLF included. Our own bound: a scan listing or unique-id
 * listing is at most ~100 octets (two numbers or a number and a 70-octet unique-id), and RFC 2449 §5
 * keeps capability lines within the 512-octet response line; 1024 is twice that, for lenience.
 */
export const MAX_LISTING_LINE_OCTETS = 1024;

/**
 * Cap on a whole LIST or UIDL body. Listings are read line by line and only `maxListingEntries` entries
 * are kept, so their size costs traffic and time, not memory, and the cap must not stop a big maildrop:
 * LIST and UIDL without argument are the only way to learn the message set. 1 GiB is ~13 million
 * unique-id lines at the RFC maximum length (~80 octets each). A server that never ends its listing is
 * stopped by this, by the reply pace (Pop3Timeouts.minBytesPerSecond) or by the run's deadline.
 */
export const DEFAULT_MAX_LISTING_OCTETS = 1024 * 1024 * 1024;

/**
 * Cap on a CAPA body, which is collected whole. RFC 2449 §5 sets none; real ones are under 1 KiB (a dozen
 * capabilities, each within the 512-octet response line), so 64 KiB is lenient and still small.
 */
export const MAX_CAPA_OCTETS = 64 * 1024;

/**
 * Entries of one LIST or UIDL listing kept, for every message a run may retrieve
 * (`limits.maxMessagesPerRun`). LIST and UIDL without argument are the only way to learn the message
 * set, and they list the whole maildrop; a run never retrieves more than its per-run limit, so the lines
 * past the cap are read, checked and dropped (the run takes the first messages; the rest are left for
 * later runs, as with the per-run limit itself). Twice the limit leaves room for as many messages passed
 * over (oversized, over the byte limit) as retrieved. A kept entry costs ~150 octets, so the default
 * 10,000 messages per run keep ~3 MB of listing, whatever the mailbox's size.
 */
export const LISTING_ENTRIES_PER_RUN_MESSAGE = 2;

/**
 * Entries kept whatever the per-run limit: messages passed over (oversized) stay on the server at the head
 * of the listing, and with a small per-run limit a few of them would fill the kept entries run after run,
 * so that no later message is ever reached. 10,000 entries cost ~1.5 MB; the mailbox stalls only once
 * that many messages at its head are passed over, and each run reports them (`skipped`, `oversized`).
 */
export const MIN_LISTING_ENTRIES = 10_000;

/** Entries kept from a LIST or UIDL listing for a per-run message limit (see LISTING_ENTRIES_PER_RUN_MESSAGE). */
export function maxListingEntriesFor(maxMessagesPerRun: number): number {
  return Math.max(MIN_LISTING_ENTRIES, Math.max(1, maxMessagesPerRun) * LISTING_ENTRIES_PER_RUN_MESSAGE);
}

/**
 * Entries kept from a LIST or UIDL listing when the client is not told a per-run limit: 100,000, ~15 MB.
 * Our own bound, ten times the pipeline's default per-run limit.
 */
export const DEFAULT_MAX_LISTING_ENTRIES = 100_000;

/** A SASL mechanism name is 1 to 20 characters of A-Z, 0-9, '-' and '_' (RFC 4422 §3.1). */
export const MAX_SASL_MECHANISM_OCTETS = 20;

/** The APOP digest is the 16-octet MD5 value in lower-case hex: 32 characters (RFC 1939 §7). */
export const APOP_DIGEST_HEX_LENGTH = 32;

/**
 * Login mechanisms `auth: "auto"` tries in one run, one attempt each. Servers lock an account after a few
 * failed logins (fail2ban's default is 5 in 10 minutes, many providers fewer), and a run every few
 * minutes must stay well below that even when every attempt fails.
 */
export const MAX_LOGIN_ATTEMPTS = 3;

/**
 * Entries a keep-mode run keeps from LIST and UIDL: it must see every message to know which are new, so
 * a longer listing fails the run (`listing-too-long`) instead of hiding the messages past the cap. Keep
 * mode holds each entry several times over (the listing, the state loaded, the state being written): a
 * run peaked at 112 MiB of RSS growth with 100,000 RFC-maximum unique-ids and at 174 MiB with 200,000 of
 * Dovecot's 16 characters, and each also ran within a 128 MB heap (test/integration/keep-mode-bounds.test.ts).
 * 200,000 is twice the 100,000 kept messages BENCHMARKS.md measures; a million, the earlier cap, ran out of
 * a 448 MB heap even with 16-character unique-ids.
 */
export const KEEP_MODE_MAX_LISTING_ENTRIES = 200_000;

/**
 * Cap on a keep-mode LIST or UIDL body, in octets as received (the listing octet cap, which the reply
 * decoder enforces while the body arrives, so memory never holds more). Entries alone do not bound a
 * listing: unique-ids may be up to MAX_LISTING_LINE_OCTETS long, and 100,000 of 1,000 octets took 575 MiB.
 * 16 MiB holds KEEP_MODE_MAX_LISTING_ENTRIES unique-id lines at the RFC 1939 maximum (6-digit number,
 * space, 70 octets, CRLF: 79 octets), or ~16,000 lines of 1,000-octet unique-ids.
 */
export const KEEP_MODE_MAX_LISTING_OCTETS = 16 * 1024 * 1024;

/**
 * Times `auth: "auto"` lets a server check one password in a run: a digest mechanism (APOP, CRAM-MD5)
 * refused, then ONE mechanism that sends the password. Every mechanism checks the same password against
 * the same store, so a refusal of the password itself ends the attempts (lib/pop3/login-plan.ts); the
 * second check exists because servers often advertise APOP or CRAM-MD5 without a secret stored for them
 * (GNU mailutils, greetings with an APOP timestamp). At a run every 5 minutes a wrong password costs 288
 * to 576 failed logins a day instead of 864, and a server's lockout counter sees at most 2 per run.
 */
export const MAX_PASSWORD_CHECKS = 2;

/**
 * Times `auth: "auto"` lets a server check one OAuth2 token in a run. XOAUTH2 and OAUTHBEARER check the
 * same token; XOAUTH2's other form (one-step / two-step) is sent only when the server refused the form
 * before it looked at the token (no error challenge, no [AUTH]), so it is not a second check.
 */
export const MAX_TOKEN_CHECKS = 1;
