/**
 * One stored message through the parse stage: read the raw object, parse it (parse-message.ts), write the
 * parts and the document under the keys derived from the raw key, send the `Email Parsed` event. Every
 * step writes the same bytes to the same keys when it is run again, so the stage's queue may deliver an
 * S3 event twice (it does: at least once) without a duplicate object; the event is sent again then too,
 * deduplicated by its document key on a FIFO queue (consumers of a standard queue deduplicate on it).
 *
 * Raw ingestion never waits on this: the stage runs on its own queue after the message was stored, and
 * nothing here can make the poll fail or hold a message on the server.
 */
import type { Notifier } from '../ports.ts';
import { documentJson } from './document.ts';
import { emailParsedEvent, parsedEventNotification } from './event.ts';
import { documentKeyIn, mailboxIdOfKey, parsedFolderFor } from './keys.ts';
import { DEFAULT_PARSED_LIMITS, type ParsedLimits } from './limits.ts';
import { parseMessage } from './parse-message.ts';
import type { S3ParsedStore } from './s3-parsed-store.ts';

export interface ParseStagePorts {
  readonly store: Pick<S3ParsedStore, 'readRaw' | 'writePart' | 'writeDocument'>;
  readonly notifier: Notifier;
  readonly bucket: string;
  /** The message store's key prefix: only raw message keys under it are parsed. */
  readonly keyPrefix: string;
  readonly limits?: ParsedLimits;
}

export type ParseStageResult =
  | { readonly kind: 'parsed' | 'failed'; readonly documentKey: string; readonly mailboxId: string }
  /** Not a raw message key of this store (a parsed object, a temporary upload): nothing to do. */
  | { readonly kind: 'ignored' };

/** Thrown when the event could not be sent: the record is retried. */
export class ParsedEventNotSentError extends Error {
  override readonly name = 'ParsedEventNotSentError';
}

const SHA256_FILE = /([0-9a-f]{64})\.eml$/;

export async function parseStoredMessage(
  rawKey: string,
  ports: ParseStagePorts,
  signal?: AbortSignal,
): Promise<ParseStageResult> {
  const folder = parsedFolderFor(rawKey, ports.keyPrefix);
  if (folder === undefined) return { kind: 'ignored' };
  const limits = ports.limits ?? DEFAULT_PARSED_LIMITS;
  const mailboxId = mailboxIdOfKey(rawKey, ports.keyPrefix);
  const { body, size } = await ports.store.readRaw(rawKey);
  const document = await parseMessage({
    body,
    // The key names the content (docs/object-keys.md): its SHA-256 is the stored bytes' digest.
    raw: { key: rawKey, size, sha256: SHA256_FILE.exec(rawKey)?.[1] ?? '' },
    folder,
    sink: ports.store,
    limits,
  });
  const documentKey = documentKeyIn(folder);
  await ports.store.writeDocument(documentKey, documentJson(document));
  const event = emailParsedEvent(document, { mailboxId, bucket: ports.bucket, documentKey }, limits);
  const [result] = await ports.notifier.send([parsedEventNotification(event)], { signal });
  if (result?.ok !== true) {
    throw new ParsedEventNotSentError(
      `the Email Parsed event of ${documentKey} was not sent: ${result?.ok === false ? result.reason : 'no result'}`,
    );
  }
  return { kind: document.status, documentKey, mailboxId };
}
