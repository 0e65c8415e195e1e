/**
 * Every cap of the parsed document, each with the reason for its value. None comes from an RFC: MIME sets
 * no size on a body or a part. They keep one document small enough to fetch and read whole, and one
 * `Email Parsed` event within an SQS message (256 KiB, lib/aws-limits.ts), whatever the message holds.
 * What a cap cut is said in the document (`cut`), and the caps themselves travel in it (`limits`).
 */

const KiB = 1024;

export interface ParsedLimits {
  /**
   * UTF-8 bytes of the text body, and again of the HTML body, kept in the document. 1 MiB holds any
   * letter a person wrote (a long one is ~100 KiB); a body larger than that is a report or a dump, and
   * the raw message and its parts remain for whoever needs all of it.
   */
  readonly maxBodyBytes: number;
  /**
   * Encoded bytes of text and HTML parts passed to the parser, all parts of a message together
   * (text-budget.ts): mailparser holds those parts whole, several times over, and a 100 MiB text part
   * took 1.6 GB. 8 MiB keeps that within tens of MB and is still eight times `maxBodyBytes`, so what is
   * cut here is cut from the document's bodies anyway.
   */
  readonly maxTextPartsBytes: number;
  /**
   * Attachments and inline parts stored per message. Real mail has a handful; 1,000 bounds the requests
   * (one or more S3 writes each) and the document a hostile message of tiny parts could cause. Parts past
   * the cap are read through and hashed by nothing: the document says how many were left out.
   */
  readonly maxParts: number;
  /**
   * Header fields listed in `headers`. Long relay chains have ~100 (Received, ARC, DKIM); 1,000 leaves
   * room for lenient inputs while a message of a million fields cannot make a document of a million rows.
   */
  readonly maxHeaderFields: number;
  /** Characters of one decoded header value: 16 Ki holds long References and ARC chains whole. */
  readonly maxHeaderValueChars: number;
  /**
   * Recipients (to and cc together) in the event summary: an EventBridge rule matches on them, and 50
   * addresses of up to 320 characters keep the event far within SQS's 256 KiB. The document lists all.
   */
  readonly maxSummaryRecipients: number;
  /**
   * Characters of a file name as shown: the common file system limit (255). A longer one is cut, never
   * used as a key (keys are indexes, lib/parsed/keys.ts).
   */
  readonly maxFilenameChars: number;
}

export const DEFAULT_PARSED_LIMITS: ParsedLimits = {
  maxBodyBytes: 1024 * KiB,
  maxTextPartsBytes: 8 * 1024 * KiB,
  maxParts: 1000,
  maxHeaderFields: 1000,
  maxHeaderValueChars: 16 * KiB,
  maxSummaryRecipients: 50,
  maxFilenameChars: 255,
};
