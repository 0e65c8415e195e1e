/**
 * The options of `mailbox-poller replay` (lib/cli/replay.ts), checked before anything is read: a usage
 * mistake exits 2 with one line, as for `poll`.
 */
import { parseArgs } from 'node:util';
import { parseRangeTime, type TimeRange } from '../replay/range.ts';
import { DEFAULT_TIMEOUT_SECONDS } from './args.ts';

export const REPLAY_USAGE = `Usage: mailbox-poller replay --bucket NAME (--queue-url URL | --event-bus BUS) [options]

Sends the notifications of stored messages again, each as the original was (same body, same
deduplication key: the object key), for the messages retrieved in a time range. For when a consumer
had a bug, or the queue's retention ran out (docs/replay.md).

Options:
  --bucket NAME        the bucket the messages are stored in (or env BUCKET_NAME)
  --key-prefix P       the store's key prefix, as given to poll (or env KEY_PREFIX; default none)
  --prefix P           only keys under the key prefix and P, e.g. a mailbox: support/
  --since T            retrieved at or after T (ISO 8601: 2026-12-01 or 2026-12-01T08:00:00Z)
  --until T            retrieved before T
  --queue-url URL      send to this SQS queue
  --event-bus BUS      put each as an "Email Received" event on this EventBridge bus (name or ARN);
                       with --queue-url too, a notification counts as sent once both took it
  --dry-run            send nothing: count what would be sent (and what would be skipped)
  --config FILE        the mailboxes' host, username and trustedAuthservId, for objects stored
                       before the object kept them
  --approximate        send objects stored before every input was kept, rebuilt with stand-ins
                       (retrieval time from LastModified, processing time 0); default: skip them
  --start-after KEY    go on after this key (printed by a run that stopped)
  --max N              stop after N notifications (the next key is printed to go on)
  --concurrency N      objects read at once (default 8)
  --rate N             S3 and SQS requests per second at most (default 100)
  --timeout SECONDS    stop taking objects after this long; 0 for none (default 900)
  -q, --quiet          print only errors and where a stopped run goes on
  -h, --help           this text

Progress with the total on stderr (a first listing pass counts), the summary on stdout.
Exit status: 0 every object in the range was sent or skipped by rule (or --max reached),
1 an object or a notification failed, or objects in the range could not be rebuilt,
2 usage or configuration error, 75 stopped by --timeout, 130 stopped by Ctrl-C;
each stop prints the --start-after that goes on with exactly the rest.`;

export const DEFAULT_REPLAY_CONCURRENCY = 8;
/**
 * 100 requests a second: about 50 objects a second (HeadObject and a ranged GetObject each), 180,000
 * an hour, far below S3's 5,500 reads per second per prefix and SQS's batch rate, so a replay next to
 * live ingestion leaves both their capacity.
 */
export const DEFAULT_REPLAY_RATE = 100;

export interface ReplayCommand {
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly prefix: string;
  readonly range: TimeRange;
  readonly queueUrl: string | undefined;
  /** The EventBridge bus (name or ARN), beside or instead of the queue. */
  readonly eventBus: string | undefined;
  readonly dryRun: boolean;
  readonly configPath: string | undefined;
  readonly approximate: boolean;
  readonly startAfter: string | undefined;
  readonly max: number | undefined;
  readonly concurrency: number;
  readonly rate: number;
  readonly timeoutMs: number | undefined;
  readonly quiet: boolean;
}

export function parseReplayCommand(argv: readonly string[], env: NodeJS.ProcessEnv): ReplayCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      bucket: { type: 'string' },
      'key-prefix': { type: 'string' },
      prefix: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'queue-url': { type: 'string' },
      'event-bus': { type: 'string' },
      'dry-run': { type: 'boolean' },
      config: { type: 'string' },
      approximate: { type: 'boolean' },
      'start-after': { type: 'string' },
      max: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      timeout: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected ${positionals.join(' ')}`);
  const bucket = values.bucket ?? (env.BUCKET_NAME || undefined);
  if (bucket === undefined) throw new Error('--bucket NAME is required (or env BUCKET_NAME)');
  const dryRun = values['dry-run'] ?? false;
  const queueUrl = values['queue-url'];
  const eventBus = values['event-bus'];
  if (queueUrl === undefined && eventBus === undefined && !dryRun) {
    throw new Error('--queue-url URL or --event-bus BUS is required (or --dry-run)');
  }
  const range = {
    since: values.since === undefined ? undefined : parseRangeTime(values.since, '--since'),
    until: values.until === undefined ? undefined : parseRangeTime(values.until, '--until'),
  };
  if (range.since !== undefined && range.until !== undefined && range.since >= range.until) {
    throw new Error('--since must be before --until');
  }
  const timeout = wholeNumber(values.timeout, '--timeout', 0) ?? DEFAULT_TIMEOUT_SECONDS;
  return {
    bucket,
    keyPrefix: values['key-prefix'] ?? env.KEY_PREFIX ?? '',
    prefix: values.prefix ?? '',
    range,
    queueUrl,
    eventBus,
    dryRun,
    configPath: values.config,
    approximate: values.approximate ?? false,
    startAfter: values['start-after'],
    max: wholeNumber(values.max, '--max', 1),
    concurrency: wholeNumber(values.concurrency, '--concurrency', 1) ?? DEFAULT_REPLAY_CONCURRENCY,
    rate: wholeNumber(values.rate, '--rate', 1) ?? DEFAULT_REPLAY_RATE,
    timeoutMs: timeout === 0 ? undefined : timeout * 1000,
    quiet: values.quiet ?? false,
  };
}

function wholeNumber(text: string | undefined, flag: string, least: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < least) {
    throw new Error(`${flag} needs a whole number of at least ${least}, not "${text}"`);
  }
  return value;
}
