/** What the CLI shows a person: a live progress line on a TTY, and a summary at the end. */
import type { MailboxOutcome } from '../pipeline/outcome.ts';
import type { Progress } from '../pipeline/run-record.ts';

export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
}

/** A single line rewritten in place (TTY only): messages, bytes and rate over all mailboxes. */
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
    for (const entry of this.#byMailbox.values()) {
      messages += entry.retrieved;
      bytes += entry.bytesRetrieved;
    }
    const seconds = Math.max(0.001, (now - this.#startedAt) / 1000);
    this.#out.write(
      `\r${messages} messages, ${formatBytes(bytes)} (${(messages / seconds).toFixed(1)} msg/s, ${formatBytes(bytes / seconds)}/s)   `,
    );
  }

  clear(): void {
    if (this.#out.isTTY && this.#lastDraw > 0) this.#out.write('\r\x1b[K');
  }
}

export function formatSummary(outcomes: readonly MailboxOutcome[], destination: string): string {
  const lines = outcomes.map((outcome) => {
    const c = outcome.counts;
    const head = `${outcome.mailboxId}: ${outcome.status}`;
    const counts =
      `${c.found} found, ${c.retrieved} retrieved (${formatBytes(c.bytesRetrieved)}), ${c.stored} stored, ` +
      `${c.notified} notified, ${c.deleted} deleted, ${c.skipped} skipped, ${c.left} left on the server`;
    const why = outcome.message ? `\n    ${outcome.reason ?? ''}: ${outcome.message}` : '';
    const skips = outcome.skipped
      .map((s) => `\n    skipped message ${s.msg} (${s.reason}): ${s.detail}`)
      .join('');
    return `${head} — ${counts} in ${(outcome.durationMs / 1000).toFixed(2)} s${why}${skips}`;
  });
  return `${lines.join('\n')}\nDestination: ${destination}\n`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
