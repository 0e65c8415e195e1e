/**
 * Builds the SQS body for one stored message: an SES-shaped "Received" notification (see types.ts and
 * docs/notification.md) that always fits in one SQS message.
 */
import { SQS_PORTABLE_MESSAGE_BYTES } from '../aws-limits.ts';
import { formatAddress, type MailAddress, parseAddressList } from './addresses.ts';
import { decodeEncodedWords } from './encoded-words.ts';
import { allFields, firstField, type HeaderField, parseHeaderFields } from './header-fields.ts';
import { trustedAuthservIds } from './trusted-authserv.ts';
import type { ReceivedNotification, SesCommonHeaders, SesMail, SesVerdict } from './types.ts';
import { type Verdicts, verdictsOf } from './verdicts.ts';

/**
 * A notification fits every queue (lib/aws-limits.ts), with 1 KiB left for the message attributes
 * (`mailboxId`) that SQS counts toward the same limit.
 */
export const NOTIFICATION_MAX_BYTES = SQS_PORTABLE_MESSAGE_BYTES - 1024;

export interface NotificationInput {
  mailboxId: string;
  host: string;
  username: string;
  uidl: string | undefined;
  size: number;
  sha256: string;
  retrievedAt: Date;
  processingTimeMillis: number;
  /** receipt.action {type:'S3', bucketName, objectKey} */
  bucketName: string;
  objectKey: string;
  /**
   * The raw header section of the message (up to the first empty line), or, when it was too long to keep,
   * what HeaderCollector kept of it: whole fields, ending with a line break.
   */
  headerBytes: Buffer;
  /**
   * True when `headerBytes` is not the whole header section (HeaderCollector.truncated). A last line
   * without a line break is then taken to be a cut field, and left out.
   */
  headerSectionTruncated?: boolean;
  /**
   * The mailbox's `trustedAuthservId` setting: whose Authentication-Results fill the SPF, DKIM and DMARC
   * verdicts. Undefined: the provider default for `host` (lib/notification/trusted-authserv.ts).
   */
  trustedAuthservId?: string | readonly string[] | undefined;
  /** Whether the session ran in UTF-8 mode (RFC 6856): pop3.utf8 in the notification. */
  utf8?: boolean;
}

export interface BuiltNotification {
  body: string;
  headersTruncated: boolean;
}

const DISABLED: SesVerdict = { status: 'DISABLED' };

/**
 * Caps tried, one after the other, on values taken from the message when dropping `mail.headers` was not
 * enough: strings are cut to this many characters and lists to this many entries. The last step (0)
 * leaves only what does not come from the message.
 */
const VALUE_CAPS = [1000, 250, 64, 16, 0];

function decodeSubject(raw: string): string {
  try {
    return decodeEncodedWords(raw);
  } catch {
    return raw;
  }
}

/** Message-ID without its angle brackets (the first `<...>`), or the trimmed value when it has none. */
function bareMessageId(value: string): string {
  const match = /<([^>]*)>/.exec(value);
  return (match?.[1] ?? value).trim();
}

function addressesOf(fields: readonly HeaderField[], name: string): MailAddress[] | undefined {
  const values = allFields(fields, name);
  return values.length === 0 ? undefined : values.flatMap((value) => parseAddressList(value));
}

/** The commonHeaders address lists, in the order SES writes them, with the header each comes from. */
const ADDRESS_LISTS = [
  ['from', 'From'],
  ['sender', 'Sender'],
  ['replyTo', 'Reply-To'],
  ['to', 'To'],
  ['cc', 'Cc'],
  ['bcc', 'Bcc'],
] as const;

function commonHeadersOf(fields: readonly HeaderField[]): SesCommonHeaders {
  const common: SesCommonHeaders = {};
  const returnPath = firstField(fields, 'Return-Path');
  if (returnPath !== undefined) common.returnPath = parseAddressList(returnPath)[0]?.address ?? '';
  for (const [key, header] of ADDRESS_LISTS) {
    const addresses = addressesOf(fields, header);
    if (addresses !== undefined) common[key] = addresses.map(formatAddress);
  }
  const date = firstField(fields, 'Date');
  if (date !== undefined) common.date = date;
  const messageId = firstField(fields, 'Message-ID');
  if (messageId !== undefined) common.messageId = messageId;
  const subject = firstField(fields, 'Subject');
  if (subject !== undefined) common.subject = decodeSubject(subject);
  return common;
}

function mailOf(input: NotificationInput, fields: HeaderField[], truncated: boolean): SesMail {
  const destination = ['To', 'Cc', 'Bcc']
    .flatMap((header) => addressesOf(fields, header) ?? [])
    .map((entry) => entry.address)
    .filter((address) => address.includes('@'));
  // The envelope sender when the delivering server recorded it, else the author; only real addresses.
  const returnPath = firstField(fields, 'Return-Path');
  const candidates = [
    ...(returnPath === undefined ? [] : parseAddressList(returnPath).slice(0, 1)),
    ...(addressesOf(fields, 'From') ?? []),
  ];
  const source = candidates.map((entry) => entry.address).find((address) => address.includes('@')) ?? '';
  const messageIdHeader = firstField(fields, 'Message-ID');
  const messageId = (messageIdHeader === undefined ? '' : bareMessageId(messageIdHeader)) || input.sha256;
  return {
    timestamp: input.retrievedAt.toISOString(),
    source,
    messageId,
    destination,
    headersTruncated: truncated,
    headers: fields,
    commonHeaders: commonHeadersOf(fields),
  };
}

function notificationOf(input: NotificationInput, mail: SesMail, verdicts: Verdicts): ReceivedNotification {
  const processingTimeMillis = Math.max(0, Math.round(input.processingTimeMillis));
  const { spfVerdict, dkimVerdict, dmarcVerdict, spamVerdict, dmarcPolicy } = verdicts;
  return {
    notificationType: 'Received',
    mail,
    receipt: {
      timestamp: new Date(input.retrievedAt.getTime() + processingTimeMillis).toISOString(),
      processingTimeMillis,
      recipients: [...mail.destination],
      spamVerdict,
      virusVerdict: DISABLED,
      spfVerdict,
      dkimVerdict,
      dmarcVerdict,
      ...(dmarcPolicy === undefined ? {} : { dmarcPolicy }),
      action: { type: 'S3', bucketName: input.bucketName, objectKey: input.objectKey },
    },
    pop3: {
      mailboxId: input.mailboxId,
      host: input.host,
      username: input.username,
      uidl: input.uidl ?? null,
      size: input.size,
      sha256: input.sha256,
      retrievedAt: input.retrievedAt.toISOString(),
      ...(input.utf8 === undefined ? {} : { utf8: input.utf8 }),
    },
  };
}

/**
 * The body is pure ASCII JSON: every character outside printable ASCII is written as a `\uXXXX` escape
 * (a character outside the BMP as its two surrogate escapes), so the parsed document is unchanged and every
 * queue takes it. SQS accepts only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF and refuses
 * U+FFFE and U+FFFF (valid in UTF-8, so they can come from a header); some SQS implementations also refuse
 * characters outside the BMP. JSON.stringify already escapes control characters and lone surrogates.
 * Escaping makes the body longer (up to 6 bytes per UTF-16 unit), so every size below is measured on this
 * escaped form.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(NOT_PRINTABLE_ASCII, escapeUnit);
}

// JSON.stringify leaves no raw C0 control characters; DEL (U+007F) is ASCII but a control character too.
const NOT_PRINTABLE_ASCII = /[\u007f-\uffff]/g;

function escapeUnit(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function serialize(notification: ReceivedNotification): string {
  return asciiJson(notification);
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** Cuts a string to `max` code points, never splitting a surrogate pair. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return Array.from(text).slice(0, max).join('');
}

/** `mail` with every value taken from the message cut to `cap`; an over-long messageId becomes the SHA-256. */
function capMail(mail: SesMail, cap: number, sha256: string): SesMail {
  const capList = (list: string[]) => list.slice(0, cap).map((entry) => cut(entry, cap));
  const common: SesCommonHeaders = {};
  for (const [key, value] of Object.entries(mail.commonHeaders) as [keyof SesCommonHeaders, unknown][]) {
    if (typeof value === 'string') (common as Record<string, string>)[key] = cut(value, cap);
    else if (Array.isArray(value)) (common as Record<string, string[]>)[key] = capList(value);
  }
  return {
    ...mail,
    source: cut(mail.source, cap),
    messageId: mail.messageId.length > cap ? sha256 : mail.messageId,
    destination: capList(mail.destination),
    commonHeaders: common,
  };
}

/**
 * How many leading fields fit in `budget` bytes of JSON (each costs its JSON plus a separating comma).
 * Never all of them: the full list did not fit with `headersTruncated: false`, and claiming `true` for a
 * complete list would be wrong (it only saves the one byte between "false" and "true").
 */
function leadingFieldsThatFit(fields: readonly HeaderField[], budget: number): number {
  let used = 0;
  let kept = 0;
  for (const field of fields) {
    const cost = byteLength(asciiJson(field)) + (kept === 0 ? 0 : 1);
    if (used + cost > budget) break;
    used += cost;
    kept++;
  }
  return Math.min(kept, Math.max(0, fields.length - 1));
}

/**
 * The notification body for one message. When the whole document would exceed `maxBytes`, trailing
 * `mail.headers` entries are dropped first (`headersTruncated: true`); if even an empty list is too much,
 * values taken from the message (commonHeaders, destination and recipients, source, messageId) are cut
 * shorter and shorter.
 * Throws RangeError only when even the fields that do not come from the message exceed `maxBytes`.
 */
export function buildNotification(
  input: NotificationInput,
  opts: { maxBytes?: number } = {},
): BuiltNotification {
  const maxBytes = opts.maxBytes ?? NOTIFICATION_MAX_BYTES;
  const incomplete = input.headerSectionTruncated === true;
  const cutMidLine = incomplete && input.headerBytes.at(-1) !== 0x0a;
  const fields = parseHeaderFields(input.headerBytes, { incomplete: cutMidLine });
  // Read from every field collected, before any is dropped from `mail.headers` for size.
  const verdicts = verdictsOf(fields, trustedAuthservIds(input.host, input.trustedAuthservId));
  const full = serialize(notificationOf(input, mailOf(input, fields, incomplete), verdicts));
  if (byteLength(full) <= maxBytes) return { body: full, headersTruncated: incomplete };

  const mail = mailOf(input, fields, true);
  const withoutHeaders = { ...mail, headers: [] };
  const baseBytes = byteLength(serialize(notificationOf(input, withoutHeaders, verdicts)));
  if (baseBytes <= maxBytes) {
    const kept = leadingFieldsThatFit(fields, maxBytes - baseBytes);
    return {
      body: serialize(notificationOf(input, { ...mail, headers: fields.slice(0, kept) }, verdicts)),
      headersTruncated: true,
    };
  }
  for (const cap of VALUE_CAPS) {
    const body = serialize(notificationOf(input, capMail(withoutHeaders, cap, input.sha256), verdicts));
    if (byteLength(body) <= maxBytes) return { body, headersTruncated: true };
  }
  throw new RangeError(`a notification for ${input.objectKey} cannot fit in ${maxBytes} bytes`);
}
