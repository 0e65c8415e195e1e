/**
 * Keeps the text and HTML parts mailparser will gather within a budget, before it gathers them.
 *
 * MailParser streams attachments but collects every text body part (text/plain, text/html and
 * message/delivery-status shown inline) whole, as buffers, then one string each, then the joined text:
 * a 100 MiB text part took 1.6 GB (maxRSS), three times a Lambda of 512 MB. So the message passes
 * mailsplit's Splitter and Joiner (mailparser's own MIME splitter, which joins a message back byte for
 * byte) with this transform between them: the encoded body of those parts passes until the message's
 * text budget is spent; a part that crosses it is cut at the last line break within the budget, and later
 * such parts lose their body. Cutting encoded lines keeps the rest decodable (base64 lines are whole
 * quanta; quoted-printable and 8-bit text end a line at a line break). Headers, structure and every other
 * part (attachments) pass untouched, so the parser sees the same message up to the cut, and a message
 * under the budget byte for byte.
 *
 * The budget is counted in encoded bytes, which are never fewer than the decoded ones (base64 and
 * quoted-printable only grow): decoded text within it is within it too. The document's own cap
 * (limits.maxBodyBytes) is far below it, so a body cut here is cut there as well and says so.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { MimeNode, SplitterChunk } from '@zone-eu/mailsplit';

/** The parts mailparser gathers as text (mail-parser.js textTypes, without keepDeliveryStatus). */
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);

export interface TextCut {
  /** Encoded body bytes of text parts not passed to the parser. */
  droppedBytes: number;
}

/** A text part mailparser would gather: a text type, shown inline (its rule for "not an attachment"). */
function gatheredAsText(node: MimeNode): boolean {
  if (node.multipart || !TEXT_TYPES.has(node.contentType || 'text/plain')) return false;
  return !node.disposition || node.disposition === 'inline';
}

export class TextBudget extends Transform {
  readonly cut: TextCut = { droppedBytes: 0 };
  #left: number;
  #inTextPart = false;

  constructor(budgetBytes: number) {
    super({ readableObjectMode: true, writableObjectMode: true });
    this.#left = budgetBytes;
  }

  override _transform(chunk: SplitterChunk, _encoding: BufferEncoding, done: TransformCallback): void {
    const passed = this.#pass(chunk);
    if (passed === undefined) done();
    else done(null, passed);
  }

  /** The chunk as it goes on to the parser, or undefined when nothing of it does. */
  #pass(chunk: SplitterChunk): SplitterChunk | undefined {
    if (chunk.type === 'node') {
      this.#inTextPart = gatheredAsText(chunk as MimeNode);
      return chunk;
    }
    if (chunk.type !== 'body' || !this.#inTextPart || !chunk.value) return chunk;
    const value = chunk.value;
    if (value.length <= this.#left) {
      this.#left -= value.length;
      return chunk;
    }
    // Up to the last line break within what is left; nothing more of this part, nor of later text parts.
    const end = value.subarray(0, this.#left).lastIndexOf(0x0a) + 1;
    this.#left = 0;
    this.cut.droppedBytes += value.length - end;
    return end === 0 ? undefined : { ...chunk, value: value.subarray(0, end) };
  }
}
