/**
 * What `-v` and `--trace` print on stderr while a run goes on: one line per message once its fate is
 * settled, and the POP3 conversation. The conversation comes from the client already redacted (PASS,
 * AUTH data and tokens as `***`, lib/pop3/commands.ts) and bodies only by size; control characters a
 * server sends are escaped here so that they cannot move the cursor or rewrite a terminal's title.
 */
import type { MessageEvent } from '../pipeline/run-record.ts';
import { formatBytes, type Output } from './report.ts';

/** `-v`: "support: message 3  <uidl>  1.2 KiB  support/uidl/…/….eml  stored, notified, deleted". */
export function formatMessageEvent(event: MessageEvent): string {
  const done = [event.stored && 'stored', event.notified && 'notified', event.deleted && 'deleted'].filter(
    (step): step is string => typeof step === 'string',
  );
  const left =
    event.skipped === undefined ? [] : [`left on the server (${event.skipped}: ${event.detail ?? ''})`];
  const fate = [...done, ...left].join(', ');
  const size = event.size === undefined ? '-' : formatBytes(event.size);
  return `mailbox-poller: ${event.mailboxId}: message ${event.msg}  ${printable(event.uidl ?? '(no UIDL)')}  ${size}  ${event.key ?? '-'}  ${fate}\n`;
}

/**
 * `-v` in message order. Messages settle out of order (retrieval runs ahead, notifications go in
 * batches, a message over the size limit is left before any is retrieved): each event waits until the
 * messages before it that will settle (Progress.planned.msgs) are shown. An event for a message not in
 * that list, or before the list is known, is shown at once; `flush` shows what is still held (a run that
 * stopped leaves some messages without an event).
 */
export class MessageOrder {
  readonly #write: (event: MessageEvent) => void;
  readonly #expected = new Map<string, number[]>();
  readonly #held = new Map<string, Map<number, MessageEvent>>();

  constructor(write: (event: MessageEvent) => void) {
    this.#write = write;
  }

  /** From the run's first progress event (Progress.planned.msgs); later calls change nothing. */
  expect(mailboxId: string, msgs: readonly number[]): void {
    if (!this.#expected.has(mailboxId)) this.#expected.set(mailboxId, [...msgs]);
  }

  add(event: MessageEvent): void {
    const expected = this.#expected.get(event.mailboxId);
    if (expected === undefined || !expected.includes(event.msg)) {
      this.#write(event);
      return;
    }
    const held = this.#held.get(event.mailboxId) ?? new Map<number, MessageEvent>();
    this.#held.set(event.mailboxId, held);
    held.set(event.msg, event);
    while (expected.length > 0 && held.has(expected[0]!)) {
      const next = expected.shift()!;
      this.#write(held.get(next)!);
      held.delete(next);
    }
  }

  flush(): void {
    for (const held of this.#held.values()) {
      for (const msg of [...held.keys()].sort((a, b) => a - b)) this.#write(held.get(msg)!);
      held.clear();
    }
  }
}

/** `--trace`: "support C: USER alice", "support S: +OK". */
export function traceWriter(out: Output): (mailboxId: string, direction: 'C' | 'S', line: string) => void {
  return (mailboxId, direction, line) => out.write(`${mailboxId} ${direction}: ${printable(line)}\n`);
}

function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
