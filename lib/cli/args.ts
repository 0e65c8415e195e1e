/** Command-line parsing for `mailbox-poller`. Usage errors exit with 2. */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: mailbox-poller poll --config FILE [options]

Drains every configured POP3 mailbox: each message is stored, then notified, then deleted.

Options:
  --config FILE       mailbox configuration (JSON; see docs/configuration.md)
  --out DIR           local default: objects as files + notifications.jsonl (default ./mailbox-data)
  --bucket NAME       store in this S3 bucket (or env BUCKET_NAME)
  --queue-url URL     notify to this SQS queue (or env QUEUE_URL)
  --key-prefix P      S3 key prefix (or env KEY_PREFIX; default none)
  --dry-run           change nothing: list each message (UIDL, size, From, Subject) and what a
                      real run would do with it; no RETR, no object, no notification, no DELE
  --json              print the per-mailbox results as JSON
  --concurrency N     mailboxes polled at once (default: the config's, else 4)
  --timeout SECONDS   overall deadline for the whole run; 0 for none (default: 900, 15 minutes)
  -h, --help          this text
  --version           print the version

Summary on stdout (only JSON with --json); failures and warnings on stderr.
Exit status: 0 every message found was committed or left by rule (size or per-run limit),
1 any mailbox ended otherwise (failed, retry-later, partial), 2 usage or configuration error.

Other commands (docs/oauth2.md):
  mailbox-poller check --config FILE [--mailbox ID]   DNS, TLS, login and STAT, step by step
  mailbox-poller oauth login --provider google|microsoft ...   one-time consent for a refresh token`;

export interface PollCommand {
  readonly configPath: string;
  readonly outDir: string;
  readonly bucket: string | undefined;
  readonly queueUrl: string | undefined;
  readonly keyPrefix: string;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly concurrency: number | undefined;
  readonly timeoutMs: number | undefined;
}

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
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  if (positionals.length !== 1 || positionals[0] !== 'poll') {
    throw new UsageError(
      positionals.length === 0 ? 'missing command: poll' : `unknown command: ${positionals.join(' ')}`,
    );
  }
  if (!values.config) throw new UsageError('--config FILE is required');
  const bucket = values.bucket ?? nonEmpty(env.BUCKET_NAME);
  const queueUrl = values['queue-url'] ?? nonEmpty(env.QUEUE_URL);
  if ((bucket === undefined) !== (queueUrl === undefined)) {
    throw new UsageError(
      '--bucket and --queue-url go together (S3 + SQS); give both, or neither for the local default',
    );
  }
  return {
    kind: 'poll',
    poll: {
      configPath: values.config,
      outDir: values.out ?? './mailbox-data',
      bucket,
      queueUrl,
      keyPrefix: values['key-prefix'] ?? env.KEY_PREFIX ?? '',
      dryRun: values['dry-run'] ?? false,
      json: values.json ?? false,
      concurrency: positiveInteger(values.concurrency, '--concurrency'),
      timeoutMs: timeoutMs(values.timeout),
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      bucket: { type: 'string' },
      'queue-url': { type: 'string' },
      'key-prefix': { type: 'string' },
      'dry-run': { type: 'boolean' },
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

/** `--timeout 0` means no deadline. */
function timeoutMs(text: string | undefined): number | undefined {
  if (text === '0') return undefined;
  return (positiveInteger(text, '--timeout') ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new UsageError(`${flag} needs a whole number above 0, not "${text}"`);
  return value;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}
