/**
 * The parsed document of one stored message (docs/parsed-mail.md): what a consumer wants without a MIME
 * parser of its own. Plain data, written as JSON beside the raw object (keys.ts). It holds nothing that
 * changes from one parse to the next (no time of parsing), so parsing the same bytes again writes the
 * same document, byte for byte.
 */
import type { ParsedLimits } from './limits.ts';

export const PARSED_DOCUMENT_VERSION = 1;

/**
 * Why a message has no parsed content (status `failed`); the raw message is stored, notified and
 * deleted from the server all the same:
 * - `parser-error`: the MIME parser gave up on the bytes (its message is in `failure.detail`), e.g. a
 *   header section larger than mailparser's 1 MiB.
 */
export const PARSE_FAILURE_REASONS = ['parser-error'] as const;
export type ParseFailureReason = (typeof PARSE_FAILURE_REASONS)[number];

export interface ParsedAddress {
  readonly name: string;
  /** Empty when the header named no address (a bare group name, or a malformed field). */
  readonly address: string;
}

export interface ParsedHeader {
  /** As written in the message. */
  readonly name: string;
  /** Unfolded, encoded words (RFC 2047) decoded; cut at `limits.maxHeaderValueChars`. */
  readonly value: string;
}

export interface ParsedBody {
  /** Cut at `limits.maxBodyBytes` UTF-8 bytes (never inside a character). */
  readonly content: string;
  /**
   * UTF-8 bytes of the whole body as the parser decoded it; of what reached the parser when text parts
   * were cut before it (`cut.textBytesNotParsed`).
   */
  readonly bytes: number;
  readonly truncated: boolean;
  /**
   * U+FFFD in the decoded body: bytes the parser could not decode in the declared charset (or a charset
   * it does not know, decoded as UTF-8). 0 when every byte decoded.
   */
  readonly replacementCharacters: number;
}

export interface ParsedPart {
  /** 1, 2, … in message order; the part's key ends in it (keys.ts). */
  readonly index: number;
  /** The object key (S3), or the file's path relative to the output folder (CLI). */
  readonly key: string;
  /** As the parser reports it (an octet-stream with a known file extension gets that type). */
  readonly contentType: string;
  /** Sanitised for display (filename.ts); null when the part has none. Never part of a key. */
  readonly filename: string | null;
  /** Decoded bytes, as stored. */
  readonly size: number;
  /** SHA-256 (lowercase hex) of the stored bytes. */
  readonly sha256: string;
  /** Content-ID without angle brackets; null when the part has none. */
  readonly contentId: string | null;
  /** Shown in the body (Content-Disposition inline) rather than attached. */
  readonly inline: boolean;
  /** The MIME part number (IMAP style, `1.2`), null for a single-part message. */
  readonly partId: string | null;
}

/** What a cap cut, so nothing is lost silently. */
export interface ParsedCuts {
  readonly text?: boolean;
  readonly html?: boolean;
  /** Encoded bytes of text and HTML parts past `limits.maxTextPartsBytes`: never parsed. */
  readonly textBytesNotParsed?: number;
  /** Parts past `limits.maxParts`: not stored. */
  readonly partsNotStored?: number;
  /** Header fields past `limits.maxHeaderFields`: not listed. */
  readonly headersNotListed?: number;
  /** Header values cut at `limits.maxHeaderValueChars`. */
  readonly headerValuesCut?: number;
}

export interface ParsedDocument {
  readonly version: typeof PARSED_DOCUMENT_VERSION;
  readonly status: 'parsed' | 'failed';
  /** Only with status `failed`. */
  readonly failure?: { readonly reason: ParseFailureReason; readonly detail: string };
  readonly raw: { readonly key: string; readonly size: number; readonly sha256: string };
  readonly subject: string | null;
  /** The Date field as ISO 8601 (UTC); null when absent or unreadable (the field itself is in headers). */
  readonly date: string | null;
  readonly messageId: string | null;
  readonly from: readonly ParsedAddress[];
  readonly to: readonly ParsedAddress[];
  readonly cc: readonly ParsedAddress[];
  readonly replyTo: readonly ParsedAddress[];
  readonly headers: readonly ParsedHeader[];
  readonly text: ParsedBody | null;
  readonly html: ParsedBody | null;
  /** Attachments and inline parts, each stored as its own object. */
  readonly parts: readonly ParsedPart[];
  readonly cut: ParsedCuts;
  /** Problems that did not stop the parse, in the parser's words (e.g. HTML it could not turn into text). */
  readonly warnings: readonly string[];
  readonly limits: ParsedLimits;
}

/** The document's JSON, as stored: two-space indented, a final newline. */
export function documentJson(document: ParsedDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
