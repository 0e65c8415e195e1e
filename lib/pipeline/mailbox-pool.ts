/**
 * Several mailboxes polled at once, at most `concurrency` of them: one worker per slot takes the next
 * mailbox as soon as its last one ends, so a slow mailbox holds one slot and never a whole batch, and
 * the results come back in the mailboxes' order. The one pool of the library's `pollMailboxes`
 * (poll-mailbox.ts) and of the CLI's poll under locks (lib/cli/poll-locked.ts).
 */

/** As the config's `concurrency` default (lib/config/load-config.ts), for callers that pass none. */
export const DEFAULT_MAILBOX_CONCURRENCY = 4;

/**
 * `poll` is expected to settle every mailbox as a result (an outcome), not to throw: one mailbox's
 * failure is its own outcome and never stops another's run.
 */
export async function pollConcurrently<M, R>(
  mailboxes: readonly M[],
  concurrency: number | undefined,
  poll: (mailbox: M) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(mailboxes.length);
  let next = 0;
  const worker = async () => {
    while (next < mailboxes.length) {
      const index = next++;
      results[index] = await poll(mailboxes[index]!);
    }
  };
  const workers = Math.max(1, Math.min(concurrency ?? DEFAULT_MAILBOX_CONCURRENCY, mailboxes.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}
