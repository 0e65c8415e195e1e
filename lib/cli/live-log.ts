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
