/**
 * Help for every command, in one table: `mailbox-poller --help` lists the commands, `mailbox-poller
 * COMMAND --help` (or `-h`, or `mailbox-poller help COMMAND`) prints that command's own text on stdout
 * and exits 0 before the command parses anything, so a required option never stands between a person and
 * the text that names it. A usage error prints one line and where the help is (`usageErrorText`), not the
 * whole text: the mistake stays on the screen.
 *
 * A command added to the CLI adds one row to COMMANDS; main.ts dispatches by the same names.
 */
import { USAGE } from './args.ts';
import { CHECK_USAGE } from './check.ts';
import { DEMO_USAGE } from './demo.ts';
import { OAUTH_LOGIN_USAGE } from './oauth-login.ts';
import { PARSE_USAGE } from './parse-usage.ts';
import { REPLAY_USAGE } from './replay.ts';
import { RESET_USAGE } from './reset.ts';
import { SECRETS_USAGE } from './secrets-build.ts';
import { STATUS_USAGE } from './status.ts';

export interface CommandHelp {
  /** The words that name the command: "poll", "oauth login". */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  readonly usage: string;
}

export const COMMANDS: readonly CommandHelp[] = [
  { name: 'poll', summary: 'store, notify and delete every message of each mailbox', usage: USAGE },
  { name: 'check', summary: 'DNS, TLS, login and STAT for each mailbox, step by step', usage: CHECK_USAGE },
  {
    name: 'status',
    summary: "each mailbox's health, the ones that need a person first",
    usage: STATUS_USAGE,
  },
  { name: 'reset', summary: "close a mailbox's circuit breaker once its cause is fixed", usage: RESET_USAGE },
  {
    name: 'oauth login',
    summary: 'one-time OAuth2 consent that stores a refresh token',
    usage: OAUTH_LOGIN_USAGE,
  },
  { name: 'replay', summary: 'send the notifications of stored messages again', usage: REPLAY_USAGE },
  { name: 'secrets build', summary: 'one secret for many password mailboxes', usage: SECRETS_USAGE },
  {
    name: 'demo',
    summary: 'a sample maildrop polled into local files and every byte checked: no server, no AWS account',
    usage: DEMO_USAGE,
  },
  { name: 'parse', summary: 'one stored message as JSON, text, HTML and part files', usage: PARSE_USAGE },
];

export function topUsage(): string {
  const width = Math.max(...COMMANDS.map(({ name }) => name.length));
  const rows = COMMANDS.map(({ name, summary }) => `  ${name.padEnd(width)}  ${summary}`);
  return [
    'Usage: mailbox-poller COMMAND [options]',
    '',
    'Turns POP3 mailboxes into stored messages and notifications (local files, or S3 + SQS and/or EventBridge).',
    '',
    'Commands:',
    ...rows,
    '',
    'mailbox-poller COMMAND --help   the options of one command',
    'mailbox-poller --version        print the version',
  ].join('\n');
}

/**
 * The command whose words start argv; failing that, the one whose first word does ("secrets --help",
 * "oauth logn": there is one command under each of those words). Undefined if none.
 */
export function commandOf(argv: readonly string[]): CommandHelp | undefined {
  const named = (command: CommandHelp) => command.name.split(' ').every((word, i) => argv[i] === word);
  return COMMANDS.find(named) ?? COMMANDS.find((command) => command.name.split(' ')[0] === argv[0]);
}

/**
 * The help text argv asks for, or undefined when it asks for none. `--help`/`-h` anywhere before a `--`
 * asks for the help of the command argv starts with (the command list when it starts with none);
 * `help COMMAND` for that command's.
 */
export function helpRequested(argv: readonly string[]): string | undefined {
  if (argv[0] === 'help') {
    return commandOf(argv.slice(1))?.usage ?? topUsage();
  }
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  if (!options.some((arg) => arg === '--help' || arg === '-h')) return undefined;
  return commandOf(argv)?.usage ?? topUsage();
}
