/**
 * What the CLI shows a person: a live progress line on a TTY, a summary at the end on stdout, and every
 * failure or warning on stderr, identical ones grouped ("14 × notify-failed: …") rather than repeated.
 */
import type { DryRunEntry, KeepCounts, MailboxOutcome, SkippedMessage } from '../pipeline/outcome.ts';
import type { Progress } from '../pipeline/run-record.ts';

export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
}

/**
 * A single line rewritten in place (TTY only), over all mailboxes started so far: "message 1220 of 1290,
 * 58.9 of 62.3 MiB (261.0 msg/s, 12.6 MiB/s, about 6 s left)". The totals are what the runs set out to
 * retrieve (the listing within the per-run limits), as fetchmail's "message 3 of 1290".
 */
export class ProgressLine {
  readonly #out: Output;
  readonly #byMailbox = new Map<string, Progress>();
  readonly #startedAt = performance.now();
  #lastDraw = 0;

  constructor(out: Output) {
    this.#out = out;
  }

  update(progress: Progress): void {
    if (!this.#out.isTTY) return;
    this.#byMailbox.set(progress.mailboxId, progress);
    const now = performance.now();
    if (now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    let messages = 0;
    let bytes = 0;
    const planned = { messages: 0, bytes: 0 };
    for (const entry of this.#byMailbox.values()) {
      messages += entry.retrieved;
      bytes += entry.bytesRetrieved;
      planned.messages += entry.planned?.messages ?? entry.retrieved;
      planned.bytes += entry.planned?.bytes ?? entry.bytesRetrieved;
    }
    const seconds = Math.max(0.001, (now - this.#startedAt) / 1000);
    this.#out.write(`\r${formatProgress({ messages, bytes, planned, seconds })}\x1b[K`);
  }

  clear(): void {
    if (this.#out.isTTY && this.#lastDraw > 0) this.#out.write('\r\x1b[K');
  }
}

export interface ProgressFigures {
  readonly messages: number;
  readonly bytes: number;
  readonly planned: { readonly messages: number; readonly bytes: number };
  readonly seconds: number;
}

/** The progress line's text; the time left from the byte rate so far (messages differ too much in size). */
export function formatProgress({ messages, bytes, planned, seconds }: ProgressFigures): string {
  const total = Math.max(planned.bytes, bytes);
  const rate = bytes / seconds;
  const left = rate > 0 && total > bytes ? `, about ${formatDuration((total - bytes) / rate)} left` : '';
  return (
    `message ${messages} of ${Math.max(planned.messages, messages)}, ` +
    `${formatBytes(bytes)} of ${formatBytes(total)} ` +
    `(${(messages / seconds).toFixed(1)} msg/s, ${formatBytes(rate)}/s${left})`
  );
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/**
 * stdout: one line per mailbox (status, reason, counts), and for a dry run what a real run would do.
 * The last line says where the messages went; a dry run says that it wrote nothing, and where a real
 * run would write.
 */
export function formatSummary(
  outcomes: readonly MailboxOutcome[],
  destination: string,
  dryRun = false,
): string {
  const lines = outcomes.map((outcome) => {
    const c = outcome.counts;
    const head = `${outcome.mailboxId}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}`;
    const counts =
      `${c.found} found, ${c.retrieved} retrieved (${formatBytes(c.bytesRetrieved)}), ${c.stored} stored, ` +
      `${c.notified} notified, ${c.deleted} deleted, ${c.skipped} skipped, ${c.left} left on the server` +
      (c.uncommitted > 0 ? `, ${c.uncommitted} uncommitted` : '') +
      (outcome.keep ? formatKeepCounts(outcome.keep) : '');
    const line = `${head} — ${counts} in ${(outcome.durationMs / 1000).toFixed(2)} s`;
    if (!outcome.dryRun) return line;
    return [line, `    ${outcome.message ?? ''}`, ...outcome.dryRun.map(formatDryRunEntry)].join('\n');
  });
  const where = dryRun
    ? `Nothing written (dry run); a real run writes to ${destination}`
    : `Destination: ${destination}`;
  return `${lines.join('\n')}\n${where}\n`;
}

/** Keep mode: what the mailbox keeps, what was new, what deleteAfterDays removed. */
function formatKeepCounts(keep: KeepCounts): string {
  const initial =
    keep.recordedByInitial > 0 ? `, ${keep.recordedByInitial} recorded without ingesting (initial)` : '';
  const proof =
    (keep.reusedUidl ? `, ${keep.reusedUidl} reused unique-ids ingested as new` : '') +
    (keep.deletionWithheld ? `, ${keep.deletionWithheld} not deleted (unproven)` : '');
  return ` (keep: ${keep.kept} kept, ${keep.ingested} newly ingested, ${keep.deletedAfterDays} deleted after days${initial}${proof})`;
}

function formatDryRunEntry(entry: DryRunEntry): string {
  const action = entry.action === 'retrieve' ? 'would retrieve' : `would leave (${entry.leftBecause})`;
  const header = [
    entry.from === undefined ? '' : `  From: ${entry.from}`,
    entry.subject === undefined ? '' : `  Subject: ${entry.subject}`,
  ].join('');
  return `    ${entry.msg}  ${entry.uidl ?? '(no UIDL)'}  ${formatBytes(entry.size)}  ${action}${header}`;
}

/**
 * stderr: each mailbox that did not end ok, with its reason and message, then its skipped messages
 * grouped by reason and detail. Empty when there is nothing to warn about.
 */
export function formatProblems(outcomes: readonly MailboxOutcome[]): string {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    if (outcome.status !== 'ok') {
      const why = outcome.message ? `: ${outcome.message}` : '';
      lines.push(
        `mailbox-poller: ${outcome.mailboxId}: ${outcome.status} (${outcome.reason ?? 'error'})${why}`,
      );
      if (outcome.retryAfterSeconds !== undefined) {
        const when = new Date(Date.now() + outcome.retryAfterSeconds * 1000).toISOString();
        lines.push(
          `mailbox-poller: ${outcome.mailboxId}: the server allows the next poll in ${outcome.retryAfterSeconds} s (${when})`,
        );
      }
    }
    for (const group of groupSkips(outcome.skipped)) {
      lines.push(
        `mailbox-poller: ${outcome.mailboxId}: ${group.msgs.length} × ${group.reason}: ${group.detail} ` +
          `(${describeMessages(group.msgs)})`,
      );
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

interface SkipGroup {
  readonly reason: SkippedMessage['reason'];
  readonly detail: string;
  readonly msgs: number[];
}

function groupSkips(skipped: readonly SkippedMessage[]): SkipGroup[] {
  const groups = new Map<string, SkipGroup>();
  for (const skip of skipped) {
    const detail = withoutMessagePath(skip.detail, skip.uidl);
    const key = `${skip.reason}\u0000${detail}`;
    const group = groups.get(key) ?? { reason: skip.reason, detail, msgs: [] };
    group.msgs.push(skip.msg);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/**
 * The same error for every message still names each message's own object key or folder. For grouping
 * (and only there; --json keeps every detail), a path is cut at its first segment that belongs to the
 * message, one holding its UIDL or a hash: "s3://bucket/support/uidl/…: PutObject failed: NoSuchBucket".
 */
export function withoutMessagePath(detail: string, uidl: string | undefined): string {
  const uidls = uidl && uidl.length >= 3 ? [uidl, encodeURIComponent(uidl)] : [];
  const own = ['[0-9a-f]{16}', ...uidls.map((text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))].join('|');
  const segment = new RegExp(`/[^/\\s']*(?:${own})[^\\s']*?(?=[:']?(?:\\s|$))`, 'g');
  return detail.replace(segment, '/…');
}

/** "message 3", or "messages 1, 2, 5 … 14" for a long list. */
function describeMessages(msgs: readonly number[]): string {
  const sorted = [...msgs].sort((a, b) => a - b);
  if (sorted.length === 1) return `message ${sorted[0]}`;
  const shown =
    sorted.length <= 8 ? sorted.join(', ') : `${sorted.slice(0, 6).join(', ')} … ${sorted.at(-1)}`;
  return `messages ${shown}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
