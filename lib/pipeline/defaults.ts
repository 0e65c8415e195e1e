/**
 * The pipeline's defaults that an edge also reads: the Lambda poll handler (functions/poll.ts) shares
 * the in-flight byte budget among the mailboxes of one invocation. Kept apart from the code that applies
 * them (retrieve-ahead.ts) so a handler imports a number, not the retrieval loop.
 */

/** As many as the client's pipelining window, so a long round trip is paid once per window. */
export const DEFAULT_MAX_IN_FLIGHT_MESSAGES = 64;
/** 64 MiB: eight S3 single-PUT bodies (8 MiB threshold) in flight; well within a 512 MiB Lambda. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
