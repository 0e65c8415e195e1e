/**
 * `mailbox-poller status [--config FILE | --bucket NAME [--prefix P]] [--json]`: one line per mailbox
 * from its health record (lib/health/record.ts), the ones that need a person first: state, since when,
 * last success, the failure streak and its reason, the next attempt the circuit breaker allows.
 *
 * Exit status, in line with `poll`: 0 no mailbox needs a person, 1 at least one does (needs-attention),
 * 2 usage or configuration error, or the records could not be read.
 */
import { loadConfigFile } from '../config/load-config.ts';
import type { MailboxHealth } from '../health/record.ts';
import { HEALTH_STATES } from '../health/states.ts';
import { usageProblem } from './args.ts';
import { type HealthCommand, parseHealthCommand } from './health-options.ts';
import type { CliIo } from './io.ts';
import { usageErrorText } from './usage-line.ts';

export const STATUS_USAGE = `Usage: mailbox-poller status [--config FILE] [--out DIR | --bucket NAME [--prefix P]] [--json]

Each mailbox's health, the ones that need a person first: state, since, last success, failure
streak and reason, next attempt. Records are read from --out (default ./mailbox-data) or the
S3 bucket (or env BUCKET_NAME, KEY_PREFIX); with --config, the mailboxes of that configuration.
Exit status: 0 none needs a person, 1 at least one needs attention, 2 usage error or unreadable records.`;

/** A mailbox of the configuration that has no record yet (never polled where the records are). */
interface NeverPolled {
  readonly mailboxId: string;
  readonly neverPolled: true;
}

type Row = MailboxHealth | NeverPolled;

export async function statusMain(argv: readonly string[], io: CliIo): Promise<number> {
  let command: HealthCommand;
  try {
    command = parseHealthCommand(argv, io.env);
    if (command.positionals.length > 0) throw new Error(`unexpected ${command.positionals.join(' ')}`);
  } catch (error) {
    io.stderr.write(usageErrorText('status', usageProblem(error, STATUS_USAGE)));
    return 2;
  }
  let rows: Row[];
  try {
    rows = await readRows(command);
  } catch (error) {
    io.stderr.write(`mailbox-poller: ${describe(error)}\n`);
    return 2;
  }
  rows.sort(byUrgency);
  if (command.json) io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else io.stdout.write(rows.length === 0 ? `no health records in ${command.where}\n` : formatRows(rows));
  return rows.some((row) => 'state' in row && row.state === 'needs-attention') ? 1 : 0;
}

async function readRows(command: HealthCommand): Promise<Row[]> {
  if (command.configPath === undefined) return command.store.list();
  const { mailboxes } = await loadConfigFile(command.configPath);
  return Promise.all(
    mailboxes.map(
      async ({ id }): Promise<Row> =>
        (await command.store.load(id))?.health ?? { mailboxId: id, neverPolled: true },
    ),
  );
}

/** needs-attention, retrying, paused, ok, then never polled; by id within each. */
function byUrgency(a: Row, b: Row): number {
  const rank = (row: Row) => ('state' in row ? HEALTH_STATES.indexOf(row.state) : HEALTH_STATES.length);
  return rank(a) - rank(b) || (a.mailboxId < b.mailboxId ? -1 : a.mailboxId > b.mailboxId ? 1 : 0);
}

function formatRows(rows: readonly Row[]): string {
  return `${rows.map(formatRow).join('\n')}\n`;
}

export function formatRow(row: Row): string {
  if (!('state' in row)) return `${row.mailboxId}: never polled here`;
  const parts = [
    `${row.mailboxId}: ${row.state} since ${row.since}`,
    `last success ${row.lastSuccessAt ?? 'never'}`,
  ];
  if (row.failures > 0) parts.push(`${row.failures} × ${row.reason ?? 'error'}`);
  if (row.nextAttemptAt !== undefined) parts.push(`next attempt ${row.nextAttemptAt}`);
  const line = parts.join(', ');
  return row.failures > 0 && row.message !== undefined ? `${line}\n    ${row.message}` : line;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
