/**
 * A small, tolerant reader for address lists (RFC 5322 §3.4: From, To, Cc, Bcc, Reply-To, Sender,
 * Return-Path). It never throws and never rejects: whatever looks like an address comes out.
 *
 * Understood: `addr`, `Name <addr>`, `"Quoted, Name" <addr>`, `addr (Comment Name)`, `Name addr`, groups
 * (`Team: a@x, b@y;` gives their members, `undisclosed-recipients:;` gives nothing), escaped characters in
 * quoted strings and comments, nested comments, source routes (`<@relay:addr>` gives `addr`), RFC 2047
 * encoded display names (decoded).
 * Not done (limits): no syntax check of the address itself, no IDNA conversion, no decoding of
 * RFC 2231/6532 oddities beyond taking the text as it is, unterminated quotes/comments/angles simply run
 * to the end of the value.
 */
import { decodeEncodedWords } from './encoded-words.ts';

export interface MailAddress {
  /** Display name, RFC 2047 decoded; '' when there is none. */
  readonly name: string;
  /** The address as written, without angle brackets or whitespace; may be '' (`<>`) or lack an '@'. */
  readonly address: string;
}

interface Element {
  display: string;
  comments: string[];
  angle: string | undefined;
}

const newElement = (): Element => ({ display: '', comments: [], angle: undefined });

/** Reads a quoted string or comment body starting after its opening character; returns [text, next index]. */
function readDelimited(text: string, start: number, open: string, close: string): [string, number] {
  let depth = 1;
  let out = '';
  let i = start;
  for (; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '\\' && i + 1 < text.length) {
      out += text[++i];
    } else if (char === close && --depth === 0) {
      return [out, i + 1];
    } else {
      // Only comments nest (RFC 5322 §3.2.2); a quote character inside a quoted string always closes it.
      if (char === open && open !== close) depth++;
      out += char;
    }
  }
  return [out, i];
}

function decodeName(raw: string): string {
  const collapsed = raw.replace(/\s+/g, ' ').trim();
  if (!collapsed.includes('=?')) return collapsed;
  try {
    return decodeEncodedWords(collapsed).trim();
  } catch {
    return collapsed;
  }
}

function finishElement(element: Element): MailAddress | undefined {
  const comment = element.comments.join(' ');
  if (element.angle !== undefined) {
    // Drop an obsolete source route: <@relay1,@relay2:user@example.com>.
    const address = element.angle.replace(/^\s*@[^:]*:/, '').replace(/\s+/g, '');
    const name = decodeName(element.display) || decodeName(comment);
    return { name, address };
  }
  const words = element.display
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  if (words.length === 0) return undefined;
  // `Name user@example.com` (no angle brackets): the last word with an '@' is the address.
  const at = words.findLastIndex((word) => word.includes('@'));
  if (at === -1) return { name: decodeName(comment), address: words.join(' ') };
  const nameWords = [...words.slice(0, at), ...words.slice(at + 1)].join(' ');
  return { name: decodeName(nameWords) || decodeName(comment), address: words[at] as string };
}

/** All addresses in an address-list header value, in order. */
export function parseAddressList(value: string): MailAddress[] {
  const addresses: MailAddress[] = [];
  let element = newElement();
  const flush = () => {
    const address = finishElement(element);
    if (address !== undefined) addresses.push(address);
    element = newElement();
  };
  let i = 0;
  while (i < value.length) {
    const char = value[i] as string;
    if (char === '"') {
      const [quoted, next] = readDelimited(value, i + 1, '"', '"');
      element.display += quoted;
      i = next;
    } else if (char === '(') {
      const [comment, next] = readDelimited(value, i + 1, '(', ')');
      element.comments.push(comment);
      i = next;
    } else if (char === '<') {
      const close = value.indexOf('>', i + 1);
      const end = close === -1 ? value.length : close;
      element.angle = (element.angle ?? '') + value.slice(i + 1, end);
      i = end + 1;
    } else if (char === ',' || char === ';') {
      flush();
      i++;
    } else if (char === ':' && element.angle === undefined && !element.display.includes('@')) {
      // "Group name:" starts a group; the name is not an address.
      element = newElement();
      i++;
    } else {
      element.display += char;
      i++;
    }
  }
  flush();
  return addresses;
}

/** RFC 5322 specials: a display name containing one must be quoted to read back as one name. */
const NEEDS_QUOTING = /[()<>[\]:;@\\,."]/;

/** How SES lists an address in commonHeaders: `Name <addr>`, quoting the name only when it must. */
export function formatAddress({ name, address }: MailAddress): string {
  if (name === '') return address;
  const shownName = NEEDS_QUOTING.test(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : name;
  return `${shownName} <${address}>`;
}
