/**
 * The `Email Parsed` event (docs/parsed-mail.md): the parsed document's bucket and key, the raw object's
 * key, and a summary an EventBridge rule can match on ("mail to invoices@ with a PDF"). Its body has the
 * shape of an EventBridge event (`source`, `detail-type`, `detail`), so a rule written for the bus matches
 * the same fields whether the event came by queue or by bus. It goes out through the Notifier port, to the
 * construct's parsed queue; `parsedEventNotification` is the one place it is built, so another transport
 * (a bus) takes the same body.
 */
import { SQS_PORTABLE_MESSAGE_BYTES } from '../aws-limits.ts';
import type { OutgoingNotification } from '../ports.ts';
import type { ParsedAddress, ParsedDocument, ParseFailureReason } from './document.ts';
import { cutChars } from './headers.ts';
import type { ParsedLimits } from './limits.ts';

export const PARSED_EVENT_SOURCE = 'mailbox-poller';
export const PARSED_EVENT_DETAIL_TYPE = 'Email Parsed';
/** Parts listed in the summary: the document lists every one. */
const MAX_SUMMARY_PARTS = 100;
/** Characters of the subject in the summary: the document has the whole field. */
const MAX_SUMMARY_SUBJECT_CHARS = 1000;
/**
 * The event's largest body: any SQS queue's limit less room for the message attributes. Address fields
 * are not capped by the parser (a name may be 100,000 characters), so lists are shortened until it fits.
 */
export const MAX_EVENT_BYTES = SQS_PORTABLE_MESSAGE_BYTES - 16 * 1024;

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
  /**
   * At most `limits.maxSummaryRecipients` of to and cc together (fewer when the event would not fit an SQS
   * message: see MAX_EVENT_BYTES); the document lists all.
   */
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
  let listed = { addresses: limits.maxSummaryRecipients, parts: MAX_SUMMARY_PARTS };
  for (;;) {
    const event = eventListing(document, where, listed);
    const fits = Buffer.byteLength(JSON.stringify(event)) <= MAX_EVENT_BYTES;
    if (fits || (listed.addresses === 0 && listed.parts === 0)) return event;
    listed = { addresses: Math.floor(listed.addresses / 2), parts: Math.floor(listed.parts / 2) };
  }
}

function eventListing(
  document: ParsedDocument,
  where: ParsedLocation,
  listed: { readonly addresses: number; readonly parts: number },
): EmailParsedEvent {
  const to = document.to.slice(0, listed.addresses);
  const cc = document.cc.slice(0, Math.max(0, listed.addresses - to.length));
  return {
    source: PARSED_EVENT_SOURCE,
    'detail-type': PARSED_EVENT_DETAIL_TYPE,
    detail: {
      version: 1,
      ...where,
      rawKey: document.raw.key,
      status: document.status,
      ...(document.failure ? { failureReason: document.failure.reason } : {}),
      subject: document.subject === null ? null : cutChars(document.subject, MAX_SUMMARY_SUBJECT_CHARS),
      date: document.date,
      from: document.from.slice(0, listed.addresses),
      to,
      cc,
      recipientsNotListed: document.to.length + document.cc.length - to.length - cc.length,
      attachments: document.parts.slice(0, listed.parts).map((part) => ({
        contentType: part.contentType,
        size: part.size,
        filename: part.filename,
        inline: part.inline,
      })),
      attachmentsNotListed: Math.max(0, document.parts.length - listed.parts),
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
