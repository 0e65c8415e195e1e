/**
 * The conversation as `onTrace` shows it (Pop3ClientOptions): each command by its display, each status
 * line, CAPA's lines whole, and a streamed body by its size only. Never a secret (a command's display
 * is already redacted, lib/pop3/commands.ts) and never message text (a RETR or TOP body is counted, not
 * shown). Kept apart from the conversation because what the trace may show is a rule of its own; the
 * conversation only reports what passed.
 */
import type { Pop3Command } from '../pop3/commands.ts';
import type { ConnectionEvent } from '../pop3/connection.ts';
import { Pop3ServerError } from '../pop3/errors.ts';
import type { StatusLine } from '../pop3/reply-decoder.ts';
import type { TraceListener } from './options.ts';

export class ConversationTrace {
  readonly #listener: TraceListener;
  /** Octets of the body of the reply being read. */
  #bodyOctets = 0;

  constructor(listener: TraceListener) {
    this.#listener = listener;
  }

  /** The client's side: commands just put in flight (the greeting, which has no line, is not shown). */
  sent(commands: readonly { readonly command: Pop3Command<unknown> }[]): void {
    for (const { command } of commands) {
      if (command.line.length > 0) this.#listener('C', command.display);
    }
  }

  /** Body bytes of the reply being read: counted for the line that ends it. */
  body(octets: number): void {
    this.#bodyOctets += octets;
  }

  /** The server's side of a completed reply: its status line, and a streamed body by its size only. */
  replied(event: ConnectionEvent<{ readonly command: Pop3Command<unknown> }>): void {
    const trace = this.#listener;
    const octets = this.#bodyOctets;
    this.#bodyOctets = 0;
    if (event.type === 'data') return;
    const { command } = event.handle;
    if (event.type === 'failed') {
      const error = event.error;
      trace('S', error instanceof Pop3ServerError ? `-ERR ${error.serverText}` : `(${error.name})`);
      return;
    }
    trace('S', traceStatus(event.status));
    // CAPA's lines decide how the session goes (SASL, PIPELINING, STLS, EXPIRE): shown whole, as parsed.
    if (command.keyword === 'CAPA') for (const line of capabilityLines(event.value)) trace('S', line);
    if (command.shape === 'multiline' && event.status.kind === '+OK' && command.bodyMode !== 'collect') {
      trace('S', `(${octets} octets of ${command.keyword} body)`);
    }
  }
}

function traceStatus(status: StatusLine): string {
  if (status.kind === '+') return `+ (${status.text.length} octets of challenge)`;
  return status.text === '' ? status.kind : `${status.kind} ${status.text}`;
}

/** "SASL PLAIN XOAUTH2", "PIPELINING", … from a parsed CAPA reply (keywords upper-cased). */
function capabilityLines(value: unknown): string[] {
  const raw = (value as { raw?: unknown } | undefined)?.raw;
  if (!(raw instanceof Map)) return [];
  return [...(raw as Map<string, readonly string[]>)].map(([keyword, args]) => [keyword, ...args].join(' '));
}
