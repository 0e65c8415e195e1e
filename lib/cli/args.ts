/** Command-line parsing for `mailbox-poller`. Usage errors exit with 2. */
import { parseArgs } from 'node:util';
import { closestName } from '../config/did-you-mean.ts';

export const USAGE = `Usage: mailbox-poller poll --config FILE [options]

Drains every configured POP3 mailbox: each message is stored, then notified, then deleted.

Options:
  --config FILE       mailbox configuration (JSON; see docs/configuration.md)
  --out DIR           local default: objects as files + notifications.jsonl (default ./mailbox-data)
  --bucket NAME       store in this S3 bucket (or env BUCKET_NAME)
  --queue-url URL     notify to this SQS queue (or env QUEUE_URL)
  --event-bus BUS     put each notification on this EventBridge bus (name or ARN) as an
                      "Email Received" event (or env EVENT_BUS_NAME); with --queue-url both
                      must take it before a message is deleted, without it the bus alone
  --key-prefix P      S3 key prefix (or env KEY_PREFIX; default none)
  --dry-run           change nothing: list each message (UIDL, size, From, Subject) and what a
                      real run would do with it; no RETR, no object, no notification, no DELE
  -v, --verbose       one line per message on stderr: number, UIDL, size, object key, what was done
  -q, --quiet         print only errors (no summary, no warnings about messages left by rule)
  --trace             the POP3 conversation on stderr (passwords, AUTH data and tokens redacted;
                      message contents never shown)
  --force             poll a mailbox even when its circuit breaker holds it back
                      (credentials refused, a configuration mistake that repeats)
  --wait-lock SECONDS when another run is polling the same mailbox, wait for it this long
                      (default 0: leave that mailbox to it, status retry-later (locked))
  --json              print the per-mailbox results as JSON
  --concurrency N     mailboxes polled at once (default: the config's, else 4)
  --timeout SECONDS   overall deadline for the whole run; 0 for none (default: 900, 15 minutes)
  -h, --help          this text
  --version           print the version

Summary on stdout (only JSON with --json); failures and warnings on stderr.
Exit status: 0 every message found was committed or left by rule (size or per-run limit),
1 any mailbox ended otherwise (failed, retry-later, partial), 2 usage or configuration error,
75 only because another run was polling some mailboxes (locked).

Other commands (docs/oauth2.md, docs/running.md):
  mailbox-poller demo [--out DIR]   poll a sample maildrop in this process and check every stored byte
  mailbox-poller status [--config FILE | --bucket NAME [--prefix P]] [--json]   each mailbox's health
  mailbox-poller reset MAILBOX [--config FILE]   close a mailbox's circuit breaker once its cause is fixed
  mailbox-poller check --config FILE [--mailbox ID]   DNS, TLS, login and STAT, step by step
  mailbox-poller oauth login --provider google|microsoft ...   one-time consent for a refresh token
  mailbox-poller secrets build < LIST   one secret for many password mailboxes (docs/deploy.md)
  mailbox-poller replay ...   send the notifications of stored messages again (docs/replay.md)`;

export interface PollCommand {
  readonly configPath: string;
  readonly outDir: string;
  readonly bucket: string | undefined;
  readonly queueUrl: string | undefined;
  /** The EventBridge bus (name or ARN): with `queueUrl`, both must take a notification; alone, the only target. */
  readonly eventBus: string | undefined;
  readonly keyPrefix: string;
  readonly dryRun: boolean;
  /** Poll mailboxes whose circuit breaker is open (lib/health/breaker.ts). */
  readonly force: boolean;
  /** 'quiet': errors only; 'verbose': a line per message on stderr. */
  readonly verbosity: 'quiet' | 'normal' | 'verbose';
  readonly trace: boolean;
  /** How long to wait for another run's lock on a mailbox before leaving it. */
  readonly waitLockMs: number;
  readonly json: boolean;
  readonly concurrency: number | undefined;
  readonly timeoutMs: number | undefined;
}

/** main.ts adds the command list (lib/cli/help.ts COMMANDS), which this module cannot import. */
export const MISSING_COMMAND = 'missing command';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type ParsedCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'poll'; readonly poll: PollCommand };

export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError(describeParseError(error, optionNames(USAGE)));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length !== 1 || positionals[0] !== 'poll') {
    throw new UsageError(
      positionals.length === 0 ? MISSING_COMMAND : `unknown command: ${positionals.join(' ')}`,
    );
  }
  if (!values.config) throw new UsageError('--config FILE is required');
  if (values.verbose && values.quiet) throw new UsageError('--verbose and --quiet exclude each other');
  const bucket = values.bucket ?? nonEmpty(env.BUCKET_NAME);
  const queueUrl = values['queue-url'] ?? nonEmpty(env.QUEUE_URL);
  const eventBus = values['event-bus'] ?? nonEmpty(env.EVENT_BUS_NAME);
  if ((bucket === undefined) !== (queueUrl === undefined && eventBus === undefined)) {
    throw new UsageError(
      '--bucket and --queue-url go together (S3 + SQS), or --bucket and --event-bus (S3 + EventBridge), ' +
        'or all three; give none of them for the local default',
    );
  }
  return {
    kind: 'poll',
    poll: {
      configPath: values.config,
      outDir: values.out ?? './mailbox-data',
      bucket,
      queueUrl,
      eventBus,
      keyPrefix: values['key-prefix'] ?? env.KEY_PREFIX ?? '',
      dryRun: values['dry-run'] ?? false,
      force: values.force ?? false,
      verbosity: values.quiet ? 'quiet' : values.verbose ? 'verbose' : 'normal',
      trace: values.trace ?? false,
      waitLockMs: (nonNegativeInteger(values['wait-lock'], '--wait-lock') ?? 0) * 1000,
      json: values.json ?? false,
      concurrency: positiveInteger(values.concurrency, '--concurrency'),
      timeoutMs: timeoutMs(values.timeout),
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: negativeNumbersAsValues(argv),
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      bucket: { type: 'string' },
      'queue-url': { type: 'string' },
      'event-bus': { type: 'string' },
      'key-prefix': { type: 'string' },
      'dry-run': { type: 'boolean' },
      force: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      quiet: { type: 'boolean', short: 'q' },
      trace: { type: 'boolean' },
      'wait-lock': { type: 'string' },
      json: { type: 'boolean' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
}

/**
 * Overall deadline when --timeout is not given: 15 minutes. A server that trickles or stalls must not
 * hold a cron job or a shell forever. 15 minutes is also the longest a Lambda poll can run, so the CLI and
 * the Lambda give up on a server at the same point; what is left waits for the next run (nothing is lost:
 * only QUIT commits deletions, and the run stops starting messages early enough to QUIT in time).
 */
export const DEFAULT_TIMEOUT_SECONDS = 15 * 60;

/** `--timeout 0` means no deadline; the message for a wrong value says so, as the help does. */
function timeoutMs(text: string | undefined): number | undefined {
  const seconds = nonNegativeInteger(text, '--timeout', '0 for none') ?? DEFAULT_TIMEOUT_SECONDS;
  return seconds === 0 ? undefined : seconds * 1000;
}

/**
 * `--timeout -5`: parseArgs takes "-5" for an option and reports the value as missing, which is not the
 * mistake. A word that is a negative number after an option becomes that option's value (`--timeout=-5`),
 * so the option's own check says what values it takes. No option here takes a negative number, and no
 * option is named with a digit.
 */
function negativeNumbersAsValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    const previous = out.at(-1);
    if (/^-\d/.test(arg) && previous !== undefined && /^--[a-z][a-z-]*$/.test(previous)) {
      out[out.length - 1] = `${previous}=${arg}`;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Every option a usage text names ("--config", "--out"), for suggestions. */
export function optionNames(usage: string): Set<string> {
  return new Set([...usage.matchAll(/--([a-z][a-z-]+)/g)].map((match) => match[1]!));
}

/** The one line a command prints for a mistake in its arguments (parseArgs' or its own). */
export function usageProblem(error: unknown, usage: string): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'))
    return describeParseError(error, optionNames(usage));
  return error instanceof Error ? error.message : String(error);
}

/**
 * parseArgs' own text for an unknown option is written for programmers ("To specify a positional
 * argument starting with a '-', place it after a '--'…"): say which option, and the closest known one.
 */
function describeParseError(error: unknown, names: ReadonlySet<string>): string {
  const { code, message } = error as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /Unknown option '([^']+)'/.exec(text)?.[1] ?? text;
    const typed = option.replace(/^-+/, '').split('=')[0] ?? '';
    const closest = closestName(typed, names);
    return `unknown option ${option}${closest === undefined ? '' : `\ndid you mean --${closest}?`}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /Option '(-[^ ']+)/.exec(text)?.[1];
    if (option !== undefined) return `${option.replace(/^-\w, /, '')} needs a value`;
  }
  return text.split('\n')[0] ?? text;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} needs a whole number above 0, not "${text}"`);
  return value;
}

function nonNegativeInteger(text: string | undefined, flag: string, zero = '0 or more'): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0 || text.trim() === '')
    throw new UsageError(`${flag} needs a whole number of seconds, ${zero}, not "${text}"`);
  return value;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}
