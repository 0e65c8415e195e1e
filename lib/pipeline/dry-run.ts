/**
 * `--dry-run`: what a real run would do, without doing any of it. After UIDL and LIST (already sent by
 * then) it uses only TOP, never RETR, DELE or a store or notifier: no object is written, no notification
 * sent, nothing marked or retrieved.
 *
 * How the session ends matters as much. RFC 2449 §6.7 lets a server advertising `EXPIRE 0` (Gmail's
 * "delete after download") remove the messages a session retrieved once it reaches the UPDATE state, and
 * it leaves open what "retrieved" means: GNU Mailutils' pop3d, for one, marks a message for expiry when
 * it is sent by RETR *or TOP*. So a dry run that sent any TOP closes the connection without QUIT: the
 * server never enters the UPDATE state (RFC 1939 §6), whatever it counts as retrieved. A dry run that
 * sent no TOP (the server does not offer it, or the mailbox is empty) ends with QUIT as usual.
 */

import { decodeEncodedWords } from '../notification/encoded-words.ts';
import { firstField, parseHeaderFields } from '../notification/header-fields.ts';
import { HeaderCollector } from '../notification/index.ts';
import { Pop3ConnectionError, Pop3ServerError } from '../pop3/errors.ts';
import type { Pop3Client } from '../pop3-client/client.ts';
import type { DryRunEntry, MailboxOutcome } from './outcome.ts';
import type { DryRunLeftReason } from './reasons.ts';
import type { PlannedMessage, RetrievalPlan } from './retrieval-plan.ts';
import type { RunRecord } from './run-record.ts';

/** TOP commands in flight at once: as many as the client pipelines (PollOptions.maxInFlightMessages). */
const TOP_WINDOW = 64;

/** Reports the plan message by message, with From and Subject where the server offers TOP. */
export async function previewRun(
  client: Pop3Client,
  plan: RetrievalPlan,
  run: RunRecord,
): Promise<MailboxOutcome> {
  const entries: DryRunEntry[] = [
    ...plan.retrieve.map((planned) => entryOf(planned, 'retrieve')),
    ...plan.oversizedMessages.map((planned) => entryOf(planned, 'leave', 'oversized')),
    ...plan.deferredMessages.map((planned) => entryOf(planned, 'leave', 'per-run-limit')),
  ].sort((a, b) => a.msg - b.msg);

  const useTop = client.capabilities.top && entries.length > 0;
  const described = useTop ? await withHeadersAll(client, entries) : entries;
  if (useTop) {
    client.abort(
      new Pop3ConnectionError('dry run closed without QUIT so that no server counts TOP as a retrieval'),
    );
    return run.finishDryRun(described, undefined, '; closed without QUIT after TOP (see docs/outcomes.md)');
  }
  return run.finishDryRun(described, await client.quit(), '');
}

function entryOf(
  planned: PlannedMessage,
  action: DryRunEntry['action'],
  leftBecause?: DryRunLeftReason,
): DryRunEntry {
  const entry = { msg: planned.msg, uidl: planned.uidl, size: planned.listedSize, action };
  return leftBecause === undefined ? entry : { ...entry, leftBecause };
}

/**
 * TOP for every message, pipelined a window at a time: one round trip per window, and at most a window
 * of header sections held at once however large the mailbox.
 */
async function withHeadersAll(client: Pop3Client, entries: readonly DryRunEntry[]): Promise<DryRunEntry[]> {
  const described: DryRunEntry[] = [];
  for (let start = 0; start < entries.length; start += TOP_WINDOW) {
    const window = entries.slice(start, start + TOP_WINDOW);
    described.push(...(await Promise.all(window.map((entry) => withHeaders(client, entry)))));
  }
  return described;
}

/** `TOP n 0`: the header section only. A -ERR for one message leaves its From/Subject out. */
async function withHeaders(client: Pop3Client, entry: DryRunEntry): Promise<DryRunEntry> {
  const header = new HeaderCollector();
  try {
    for await (const chunk of client.top(entry.msg, 0)) header.write(chunk as Buffer);
  } catch (error) {
    if (error instanceof Pop3ServerError) return entry;
    throw error;
  }
  const fields = parseHeaderFields(header.headerBytes(), { incomplete: header.truncated });
  const from = firstField(fields, 'From');
  const subject = firstField(fields, 'Subject');
  return {
    ...entry,
    ...(from === undefined ? {} : { from: decodeEncodedWords(from) }),
    ...(subject === undefined ? {} : { subject: decodeEncodedWords(subject) }),
  };
}
