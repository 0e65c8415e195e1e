/**
 * One message's bytes in, its parsed document out, each attachment and inline part handed to a PartSink
 * as it streams (no AWS here: the S3 and local sinks are beside this file).
 *
 * mailparser's streaming MailParser, not a parser of our own (issue #23: "do not write one"), and not its
 * simpleParser, which gathers every attachment in memory. MailParser emits each attachment as a stream and
 * waits for `release()` before it reads on, so a part goes to its sink at the sink's pace and memory holds
 * a part buffer, not the part. Its text and HTML bodies it gathers whole and hands over at the end; the
 * document keeps `limits.maxBodyBytes` of each (bodies.ts), and a body as large as the largest message
 * (100 MiB) is measured to fit the function's memory (test/integration/parsed-memory.test.ts).
 *
 * Failures are of two kinds, kept apart because they call for different things:
 * - The parser gives up on the bytes: the bytes will not change, so trying again is useless. The result
 *   is a document with status `failed` and the reason, and the caller writes it like any other.
 * - Reading the message or writing a part fails (S3 unreachable, the deadline): this rejects with that
 *   error unchanged, so the stage's queue delivers the event again and the parse is retried.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import mailsplit from '@zone-eu/mailsplit';
import {
  type AttachmentStream,
  type HeaderLines,
  type Headers,
  MailParser,
  type MessageText,
} from 'mailparser';
import { cappedBody } from './bodies.ts';
import type { ParsedCuts, ParsedDocument, ParsedPart } from './document.ts';
import { PARSED_DOCUMENT_VERSION } from './document.ts';
import { displayFilename } from './filename.ts';
import { addressesOf, dateOf, decodeHeaderLines, textOf } from './headers.ts';
import { partKeyIn } from './keys.ts';
import { DEFAULT_PARSED_LIMITS, type ParsedLimits } from './limits.ts';
import { TextBudget } from './text-budget.ts';

/** Where the parts go: S3 objects (s3-parsed-store.ts) or files (local-parsed-store.ts). */
export interface PartSink {
  /** Writes `content` (read to its end) under `key`; resolves once it is stored. */
  writePart(key: string, content: AsyncIterable<Buffer>): Promise<void>;
}

export interface ParseRequest {
  readonly body: Readable;
  /** The raw message: its key (S3) or file name (CLI), size and SHA-256, as the document names it. */
  readonly raw: { readonly key: string; readonly size: number; readonly sha256: string };
  /** The folder of the part keys (keys.ts parsedFolderFor; '' for the CLI's output folder). */
  readonly folder: string;
  readonly sink: PartSink;
  readonly limits?: ParsedLimits;
}

/**
 * The bodies' HTML is turned into text by mailparser (html-to-text) up to this many characters; larger HTML
 * keeps an empty text and a warning. Four times the body cap: conversion costs seconds per MiB.
 */
const HTML_TO_TEXT_FACTOR = 4;

interface Progress {
  headers?: Headers;
  headerLines?: HeaderLines;
  text?: MessageText;
  readonly parts: ParsedPart[];
  partsNotStored: number;
}

export async function parseMessage(request: ParseRequest): Promise<ParsedDocument> {
  const limits = request.limits ?? DEFAULT_PARSED_LIMITS;
  const parser = new MailParser({
    // mailparser's defaults otherwise, so text and HTML are what simpleParser gives (where a message has
    // text and HTML parts side by side, its HTML holds the text parts as HTML, links made by linkify).
    // The parts are hashed with SHA-256 as they are written; mailparser's MD5 would be a second pass.
    checksumAlgo: false,
    maxHtmlLengthToParse: limits.maxBodyBytes * HTML_TO_TEXT_FACTOR,
  });
  const progress: Progress = { parts: [], partsNotStored: 0 };
  parser.on('headers', (headers: Headers) => {
    progress.headers = headers;
  });
  parser.on('headerLines', (lines: HeaderLines) => {
    progress.headerLines = lines;
  });
  const textBudget = new TextBudget(limits.maxTextPartsBytes);
  let inputError: { error: unknown } | undefined;
  request.body.once('error', (error) => {
    inputError ??= { error };
  });
  pipeline(request.body, new mailsplit.Splitter(), textBudget, new mailsplit.Joiner(), parser, () => {});
  let sinkError: { error: unknown } | undefined;
  try {
    for await (const data of parser as AsyncIterable<AttachmentStream | MessageText>) {
      if (data.type === 'text') {
        progress.text = data;
        continue;
      }
      try {
        await storePart(data, request, limits, progress);
      } catch (error) {
        sinkError = { error };
        throw error;
      }
    }
  } catch (error) {
    // Whatever stopped the parse, nothing more is read: the S3 response is released, not left open.
    request.body.destroy();
    parser.destroy();
    if (inputError) throw inputError.error;
    if (sinkError) throw sinkError.error;
    return assemble(request, limits, progress, textBudget, describeParserError(error));
  }
  if (inputError) throw inputError.error;
  return assemble(request, limits, progress, textBudget, undefined);
}

async function storePart(
  attachment: AttachmentStream,
  request: ParseRequest,
  limits: ParsedLimits,
  progress: Progress,
): Promise<void> {
  if (progress.parts.length >= limits.maxParts) {
    // Released unread: mailparser drains it and reads on.
    progress.partsNotStored++;
    attachment.release?.();
    return;
  }
  const index = progress.parts.length + 1;
  const key = partKeyIn(request.folder, index);
  const hash = createHash('sha256');
  let size = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of attachment.content as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  }
  await request.sink.writePart(key, counted());
  attachment.release?.();
  progress.parts.push({
    index,
    key,
    contentType: attachment.contentType,
    filename: displayFilename(attachment.filename, limits.maxFilenameChars),
    size,
    sha256: hash.digest('hex'),
    contentId: attachment.cid ?? null,
    inline: attachment.contentDisposition === 'inline',
    partId: attachment.partId,
  });
}

function describeParserError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // The parser's words, cut: they may quote the message.
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

function assemble(
  request: ParseRequest,
  limits: ParsedLimits,
  progress: Progress,
  textBudget: TextBudget,
  failure: string | undefined,
): ParsedDocument {
  const decoded = decodeHeaderLines(progress.headerLines ?? [], limits);
  const text = cappedBody(progress.text?.text, limits.maxBodyBytes);
  const html = cappedBody(progress.text?.html, limits.maxBodyBytes);
  const cut: ParsedCuts = {
    ...(text?.truncated ? { text: true } : {}),
    ...(html?.truncated ? { html: true } : {}),
    ...(textBudget.cut.droppedBytes > 0 ? { textBytesNotParsed: textBudget.cut.droppedBytes } : {}),
    ...(progress.partsNotStored > 0 ? { partsNotStored: progress.partsNotStored } : {}),
    ...(decoded.notListed > 0 ? { headersNotListed: decoded.notListed } : {}),
    ...(decoded.valuesCut > 0 ? { headerValuesCut: decoded.valuesCut } : {}),
  };
  const conversion = progress.text?.textConversionError;
  const headers = progress.headers;
  return {
    version: PARSED_DOCUMENT_VERSION,
    status: failure === undefined ? 'parsed' : 'failed',
    ...(failure === undefined ? {} : { failure: { reason: 'parser-error' as const, detail: failure } }),
    raw: request.raw,
    subject: textOf(headers, 'subject'),
    date: dateOf(decoded.headers),
    messageId: textOf(headers, 'message-id'),
    from: addressesOf(headers, 'from'),
    to: addressesOf(headers, 'to'),
    cc: addressesOf(headers, 'cc'),
    replyTo: addressesOf(headers, 'reply-to'),
    headers: decoded.headers,
    text,
    html,
    parts: progress.parts,
    cut,
    warnings: conversion ? [`text from HTML: ${conversion.message}`] : [],
    limits,
  };
}
