/**
 * `mailbox-poller replay --bucket B [--prefix P] [--since T] [--until T] (--queue-url Q | --event-bus E) [--dry-run]`:
 * sends the notifications of stored messages again (lib/replay/replay.ts; docs/replay.md). A first
 * listing pass counts the objects to look at, so the progress has a total; the run stops softly on
 * Ctrl-C and at its deadline, and every stop prints the `--start-after` that goes on with the rest.
 *
 * Exit status, in line with `poll`: 0 done (or --max reached), 1 something failed or could not be
 * rebuilt, 2 usage or configuration error, 75 stopped by the deadline (go on later), 130 Ctrl-C.
 */

import { notifierFor } from '../adapters/aws-ports.ts';
import { createS3Client } from '../adapters/s3-client.ts';
import { createSqsClient } from '../adapters/sqs-notifier.ts';
import { loadConfigFile } from '../config/load-config.ts';
import type { Notifier } from '../ports.ts';
import { RequestPacer } from '../replay/pacer.ts';
import type { MailboxSettings } from '../replay/rebuild.ts';
import {
  countCandidates,
  type ReplayCounts,
  type ReplayEvent,
  type ReplayResult,
  replay,
} from '../replay/replay.ts';
import { S3ReplaySource } from '../replay/s3-source.ts';
import { usageProblem } from './args.ts';
import type { CliIo } from './io.ts';
import { parseReplayCommand, REPLAY_USAGE, type ReplayCommand } from './replay-options.ts';
import type { Output } from './report.ts';
import { usageErrorText } from './usage-line.ts';

export { REPLAY_USAGE } from './replay-options.ts';

/** EX_TEMPFAIL, as `poll` exits when it could not do everything now: go on later. */
const EXIT_TRY_LATER = 75;
/** What a shell reports for a command ended by SIGINT (128 + 2). */
const EXIT_INTERRUPTED = 130;

export async function replayMain(argv: readonly string[], io: CliIo): Promise<number> {
  let command: ReplayCommand;
  let settings: ReadonlyMap<string, MailboxSettings> | undefined;
  try {
    command = parseReplayCommand(argv, io.env);
  } catch (error) {
    io.stderr.write(usageErrorText('replay', usageProblem(error, REPLAY_USAGE)));
    return 2;
  }
  try {
    settings = command.configPath === undefined ? undefined : await settingsOf(command.configPath);
  } catch (error) {
    io.stderr.write(`mailbox-poller: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const stop = new AbortController();
  const interrupted = () => stop.abort(new Error('interrupted (SIGINT)'));
  process.once('SIGINT', interrupted);
  const timer =
    command.timeoutMs === undefined
      ? undefined
      : setTimeout(() => stop.abort(new Error('deadline')), command.timeoutMs);
  try {
    const result = await run(command, settings, stop.signal, io);
    const interruptedBySignal =
      stop.signal.reason instanceof Error && stop.signal.reason.message.includes('SIGINT');
    return report(result, command, io, interruptedBySignal);
  } finally {
    process.off('SIGINT', interrupted);
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Only the settings that shape a notification; passwords are neither resolved nor needed. */
async function settingsOf(configPath: string): Promise<Map<string, MailboxSettings>> {
  const { mailboxes } = await loadConfigFile(configPath);
  return new Map(
    mailboxes.map((mailbox) => [
      mailbox.id,
      { host: mailbox.host, username: mailbox.username, trustedAuthservId: mailbox.trustedAuthservId },
    ]),
  );
}

/** Where the notifications go: the queue, the bus or both, as for poll (lib/adapters/aws-ports.ts). */
function targetsOf(command: ReplayCommand): Notifier | undefined {
  if (command.dryRun) return undefined;
  const { queueUrl, eventBus } = command;
  return notifierFor({ sqs: createSqsClient(), queueUrl, eventBus });
}

async function run(
  command: ReplayCommand,
  settings: ReadonlyMap<string, MailboxSettings> | undefined,
  stop: AbortSignal,
  io: CliIo,
): Promise<ReplayResult> {
  const pacer = new RequestPacer(command.rate);
  const source = new S3ReplaySource({ client: createS3Client(), bucket: command.bucket, pacer });
  const progress = new ReplayProgress(io.stderr, command.quiet);
  const request = {
    source,
    notifier: targetsOf(command),
    keyPrefix: command.keyPrefix,
    listPrefix: `${command.keyPrefix}${command.prefix}`,
    startAfter: command.startAfter,
    range: command.range,
    dryRun: command.dryRun,
    approximate: command.approximate,
    max: command.max,
    concurrency: command.concurrency,
    settings,
    pacer,
    stop,
    onEvent: (event: ReplayEvent) => progress.event(event),
  };
  let total: number;
  try {
    total = await countCandidates(request);
  } catch (error) {
    return {
      counts: emptyCounts(),
      end: 'failed',
      failure: { key: 'the counting pass', error },
      resumeAfter: command.startAfter,
    };
  }
  progress.start(total, `s3://${command.bucket}/${request.listPrefix}`);
  const result = await replay(request);
  progress.clear();
  return result;
}

function emptyCounts(): ReplayCounts {
  return { examined: 0, inRange: 0, sent: 0, skippedInexact: 0, unusable: 0 };
}

function report(result: ReplayResult, command: ReplayCommand, io: CliIo, interrupted: boolean): number {
  const { counts } = result;
  if (!command.quiet) io.stdout.write(summaryOf(counts, command));
  if (counts.skippedInexact > 0 && !command.quiet) {
    io.stderr.write(
      `mailbox-poller: ${counts.skippedInexact} object(s) stored before every input was kept were skipped; --approximate sends them rebuilt (docs/replay.md)\n`,
    );
  }
  if (result.failure !== undefined) {
    const { key, error } = result.failure;
    io.stderr.write(`mailbox-poller: replay failed at ${key}: ${describeError(error)}\n`);
  }
  if (result.end !== 'done') io.stderr.write(resumeLine(result, command));
  if (result.end === 'failed') return 1;
  if (result.end === 'stopped') return interrupted ? EXIT_INTERRUPTED : EXIT_TRY_LATER;
  return counts.unusable > 0 ? 1 : 0;
}

function summaryOf(counts: ReplayCounts, command: ReplayCommand): string {
  const targets = [command.queueUrl, command.eventBus].filter((target) => target !== undefined);
  const verb = command.dryRun ? 'would send' : `sent to ${targets.join(' and ')}`;
  const skipped = counts.skippedInexact + counts.unusable;
  return `replay: ${counts.sent} notification(s) ${verb}; ${counts.inRange} object(s) in range, ${skipped} skipped, ${counts.examined} examined\n`;
}

function resumeLine(result: ReplayResult, command: ReplayCommand): string {
  const why = {
    max: `--max ${command.max} reached`,
    stopped: 'stopped',
    failed: 'stopped by the failure',
    done: '',
  }[result.end];
  if (result.resumeAfter === undefined)
    return `mailbox-poller: ${why}; run it again with the same options to go on\n`;
  return `mailbox-poller: ${why}; to go on: --start-after ${shellQuoted(result.resumeAfter)}\n`;
}

/** A key as one shell word: single quotes, a quote in it as '\''. */
function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : '';
  return `${error.name}: ${error.message}${cause}`;
}

/**
 * The total once counted, then a redrawn line on a terminal; objects skipped or rebuilt, a line each.
 * Quiet: only the objects that cannot be rebuilt at all, which are errors (exit 1).
 */
class ReplayProgress {
  readonly #out: Output;
  readonly #quiet: boolean;
  #total = 0;
  #lastDraw = 0;

  constructor(out: Output, quiet: boolean) {
    this.#out = out;
    this.#quiet = quiet;
  }

  start(total: number, where: string): void {
    this.#total = total;
    if (!this.#quiet) this.#out.write(`replay: ${total} object(s) to examine under ${where}\n`);
  }

  event(event: ReplayEvent): void {
    if (event.kind === 'progress') {
      if (!this.#quiet) this.#draw(event.counts);
      return;
    }
    if (this.#quiet && event.kind !== 'unusable') return;
    this.clear();
    if (event.kind === 'unusable') this.#out.write(`replay: cannot rebuild ${event.key}: ${event.reason}\n`);
    else {
      const what = event.sent ? 'rebuilt' : 'skipped';
      this.#out.write(`replay: ${what} ${event.key}: not kept: ${event.missing.join(', ')}\n`);
    }
  }

  /** A redrawn line on a terminal (10 a second at most); a line every 10 seconds in a log. */
  #draw(counts: Readonly<ReplayCounts>): void {
    const now = performance.now();
    if (now - this.#lastDraw < (this.#out.isTTY ? 100 : 10_000)) return;
    this.#lastDraw = now;
    const line = `replay: ${counts.examined}/${this.#total} examined, ${counts.sent} sent`;
    this.#out.write(this.#out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }

  clear(): void {
    if (this.#out.isTTY && this.#lastDraw > 0) this.#out.write('\r\x1b[K');
  }
}
