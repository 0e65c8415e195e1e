/**
 * Modes of what the CLI writes on a machine that other users may share: messages, notifications.jsonl,
 * mailbox state and locks are for their owner only (mail is personal data, and the state tells which
 * messages exist). Files are created 0600 and folders 0700, given explicitly at creation rather than left
 * to the umask: cron and systemd start processes with 022, which would make them 0644 and 0755.
 *
 * A file's creation mode is only ever narrowed by the umask, never widened, so 0600 at open() is enough.
 * A folder this code creates is also chmod'ed to exactly 0700, since an odd umask (0277, say) could take
 * the owner's own write permission and make the next step fail. A file or folder that already exists
 * keeps its mode: whoever made it chose it (a 0750 folder shared with a reading group, say).
 */
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';

/** Files the CLI writes: read and written by their owner only. */
export const PRIVATE_FILE_MODE = 0o600;
/** Folders the CLI creates: entered, listed and written by their owner only. */
export const PRIVATE_FOLDER_MODE = 0o700;

/** `mkdir -p` whose every newly created folder is 0700, whatever the umask. */
export async function makePrivateFolder(folder: string): Promise<void> {
  const firstCreated = await mkdir(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
  if (firstCreated === undefined) return;
  const first = path.resolve(firstCreated);
  // From the leaf up to the first folder mkdir created: the ones above it existed before.
  for (let current = path.resolve(folder); ; current = path.dirname(current)) {
    await chmod(current, PRIVATE_FOLDER_MODE);
    if (current === first || current === path.dirname(current)) return;
  }
}
