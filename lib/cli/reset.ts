/**
 * `mailbox-poller reset MAILBOX [--config FILE] [--out DIR | --bucket NAME [--prefix P]]`: closes the
 * mailbox's circuit breaker once a person fixed its cause, so the next run polls it (lib/health/
 * breaker.ts resetHealth: the failure streak is forgotten, last success and last ingest are kept).
 * With --config, MAILBOX must be one of its mailboxes, so a typo does not create a record.
 *
 * Exit status: 0 reset (or nothing to reset), 2 usage or configuration error, or the record could not be
 * read or written.
 */
import { loadConfigFile } from '../config/load-config.ts';
import { resetHealth } from '../health/breaker.ts';
import { usageProblem } from './args.ts';
import { type HealthCommand, parseHealthCommand } from './health-options.ts';
import type { CliIo } from './io.ts';
import { formatRow } from './status.ts';
import { usageErrorText } from './usage-line.ts';

export const RESET_USAGE = `Usage: mailbox-poller reset MAILBOX [--config FILE] [--out DIR | --bucket NAME [--prefix P]]

Closes MAILBOX's circuit breaker after its cause was fixed: the next run polls it.
Exit status: 0 reset or nothing to reset, 2 usage error or unreadable/unwritable record.`;

export async function resetMain(argv: readonly string[], io: CliIo): Promise<number> {
  let command: HealthCommand;
  let mailboxId: string;
  try {
    command = parseHealthCommand(argv, io.env);
    if (command.positionals.length !== 1) throw new Error('name one MAILBOX to reset');
    mailboxId = command.positionals[0]!;
  } catch (error) {
    io.stderr.write(usageErrorText('reset', usageProblem(error, RESET_USAGE)));
    return 2;
  }
  try {
    if (command.configPath !== undefined) {
      const { mailboxes } = await loadConfigFile(command.configPath);
      if (!mailboxes.some(({ id }) => id === mailboxId)) {
        io.stderr.write(`mailbox-poller: no mailbox "${mailboxId}" in ${command.configPath}\n`);
        return 2;
      }
    }
    const loaded = await command.store.load(mailboxId);
    if (loaded === undefined || (loaded.health.failures === 0 && loaded.health.state !== 'needs-attention')) {
      io.stdout.write(`${mailboxId}: nothing to reset (${loaded?.health.state ?? 'no record'})\n`);
      return 0;
    }
    await command.store.save(resetHealth(loaded.health, mailboxId, new Date()), loaded.version);
    io.stdout.write(`${mailboxId}: reset; the next run polls it. Was: ${formatRow(loaded.health)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`mailbox-poller: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}
