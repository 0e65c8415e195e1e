/**
 * The `Email Parsed` event (docs/parsed-mail.md): the parsed document's bucket and key, the raw object's
 * key, and a summary an EventBridge rule can match on ("mail to invoices@ with a PDF"). Its body has the
 * shape of an EventBridge event (`source`, `detail-type`, `detail`), so a rule written for the bus matches
 * the same fields whether the event came by queue or by bus. It goes out through the Notifier port, to the
 * construct's parsed queue; `parsedEventNotification` is the one place it is built, so another transport
 * (a bus) takes the same body.
 */
import type { OutgoingNotification } from '../ports.ts';
import type { ParsedAddress, ParsedDocument, ParseFailureReason } from './document.ts';
import type { ParsedLimits } from './limits.ts';

export const PARSED_EVENT_SOURCE = 'mailbox-poller';
export const PARSED_EVENT_DETAIL_TYPE = 'Email Parsed';
/** Parts listed in the summary: the document lists every one. */
const MAX_SUMMARY_PARTS = 100;

export interface EmailParsedDetail {
  readonly version: 1;
  readonly mailboxId: string;
  readonly bucket: string;
  readonly documentKey: string;
  readonly rawKey: string;
  readonly status: ParsedDocument['status'];
  readonly failureReason?: ParseFailureReason;
  readonly subject: string | null;
  readonly date: string | null;
  readonly from: readonly ParsedAddress[];
  /** At most `limits.maxSummaryRecipients` of to and cc together; the document lists all. */
  readonly to: readonly ParsedAddress[];
  readonly cc: readonly ParsedAddress[];
  readonly recipientsNotListed: number;
  readonly attachments: readonly {
    readonly contentType: string;
    readonly size: number;
    readonly filename: string | null;
    readonly inline: boolean;
  }[];
  readonly attachmentsNotListed: number;
}

export interface EmailParsedEvent {
  readonly source: typeof PARSED_EVENT_SOURCE;
  readonly 'detail-type': typeof PARSED_EVENT_DETAIL_TYPE;
  readonly detail: EmailParsedDetail;
}

export interface ParsedLocation {
  readonly mailboxId: string;
  readonly bucket: string;
  readonly documentKey: string;
}

export function emailParsedEvent(
  document: ParsedDocument,
  where: ParsedLocation,
  limits: ParsedLimits,
): EmailParsedEvent {
  const to = document.to.slice(0, limits.maxSummaryRecipients);
  const cc = document.cc.slice(0, Math.max(0, limits.maxSummaryRecipients - to.length));
  return {
    source: PARSED_EVENT_SOURCE,
    'detail-type': PARSED_EVENT_DETAIL_TYPE,
    detail: {
      version: 1,
      ...where,
      rawKey: document.raw.key,
      status: document.status,
      ...(document.failure ? { failureReason: document.failure.reason } : {}),
      subject: document.subject,
      date: document.date,
      from: document.from.slice(0, limits.maxSummaryRecipients),
      to,
      cc,
      recipientsNotListed: document.to.length + document.cc.length - to.length - cc.length,
      attachments: document.parts.slice(0, MAX_SUMMARY_PARTS).map((part) => ({
        contentType: part.contentType,
        size: part.size,
        filename: part.filename,
        inline: part.inline,
      })),
      attachmentsNotListed: Math.max(0, document.parts.length - MAX_SUMMARY_PARTS),
    },
  };
}

/** The event as one notification: deduplicated on the document key, so a redelivery sends the same one. */
export function parsedEventNotification(event: EmailParsedEvent): OutgoingNotification {
  return {
    entryId: '0',
    body: JSON.stringify(event),
    mailboxId: event.detail.mailboxId,
    deduplicationKey: event.detail.documentKey,
  };
}
