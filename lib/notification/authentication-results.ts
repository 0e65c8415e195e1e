/**
 * Reading one Authentication-Results field value (RFC 8601 §2.2), never throwing:
 *
 *   authres-payload = [CFWS] authserv-id [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS]
 *   no-result       = [CFWS] ";" [CFWS] "none"
 *   resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
 *   methodspec      = [CFWS] method [CFWS] "=" [CFWS] result       (method = Keyword [ "/" version ])
 *   reasonspec      = "reason" [CFWS] "=" [CFWS] value
 *   propspec        = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
 *   value           = token / quoted-string (RFC 2045)
 *
 * CFWS comments (nested parentheses, quoted pairs) are kept per resinfo, because providers put facts in
 * them: Gmail and OpenDMARC write the sender's DMARC policy as `dmarc=fail (p=REJECT sp=NONE dis=NONE)`.
 *
 * Deviations seen in real mail are read too, as documented by their writers:
 * - Microsoft 365 (Exchange Online Protection) writes no authserv-id at all and starts with the first
 *   resinfo (`spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=...; dkim=...;dmarc=pass action=none
 *   header.from=...;compauth=pass reason=100`); `authservId` is then undefined.
 * - Microsoft's `action=none` is a `key=value` without a ptype; it is kept as a property with ptype ''.
 * - A resinfo that is no `method=result` (a bare domain, garbage) is skipped and `malformed` is set; the
 *   other resinfos still count.
 */

export interface AuthResult {
  /** Lower-cased method name without its version (`spf`, `dkim`, `dmarc`, `compauth`, ...). */
  readonly method: string;
  /** Lower-cased result keyword (`pass`, `fail`, `softfail`, `temperror`, ...). */
  readonly result: string;
  readonly reason: string | undefined;
  /** `ptype.property` (lower-cased) → value as written; `key` for Microsoft's ptype-less `key=value`. */
  readonly properties: ReadonlyMap<string, string>;
  /** Text of the comments inside this resinfo, in order, without the parentheses. */
  readonly comments: readonly string[];
}

export interface AuthenticationResults {
  /** The authserv-id (lower-cased), or undefined when the field has none (the Microsoft 365 form). */
  readonly authservId: string | undefined;
  /** True for the explicit `; none` payload: the service performed no authentication. */
  readonly none: boolean;
  readonly results: readonly AuthResult[];
  /** True when some part could not be read (skipped); what could be read is in `results`. */
  readonly malformed: boolean;
}

type Token =
  | { kind: 'word'; text: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'comment'; text: string }
  | { kind: 'semicolon' }
  | { kind: 'equals' };

/**
 * Splits the value into words, quoted strings, comments, `;` and `=`. RFC 2045 tspecials other than
 * these (`.`, `/`, `@`, ...) stay inside words: a ptype.property, a method/version and an address are
 * split by the parser. An unterminated quoted string or comment runs to the end (and sets `malformed`).
 */
function tokenize(value: string): { tokens: Token[]; unterminated: boolean } {
  const tokens: Token[] = [];
  let unterminated = false;
  let i = 0;
  while (i < value.length) {
    const char = value[i]!;
    if (char === ' ' || char === '\t' || char === '\r' || char === '\n') {
      i++;
    } else if (char === ';' || char === '=') {
      tokens.push(char === ';' ? { kind: 'semicolon' } : { kind: 'equals' });
      i++;
    } else if (char === '"') {
      const read = readDelimited(value, i + 1, '"');
      tokens.push({ kind: 'quoted', text: read.text });
      unterminated ||= !read.closed;
      i = read.end;
    } else if (char === '(') {
      const read = readDelimited(value, i + 1, ')');
      tokens.push({ kind: 'comment', text: read.text });
      unterminated ||= !read.closed;
      i = read.end;
    } else {
      let end = i;
      while (end < value.length && !/[\s;="(]/.test(value[end]!)) end++;
      tokens.push({ kind: 'word', text: value.slice(i, end) });
      i = end;
    }
  }
  return { tokens, unterminated };
}

/** A quoted string (`close` = '"') or a comment (`close` = ')', nesting) from just after its opener. */
function readDelimited(
  value: string,
  from: number,
  close: '"' | ')',
): { text: string; end: number; closed: boolean } {
  let depth = 1;
  let text = '';
  let i = from;
  while (i < value.length) {
    const char = value[i]!;
    if (char === '\\' && i + 1 < value.length) {
      text += value[i + 1];
      i += 2;
      continue;
    }
    if (close === ')' && char === '(') depth++;
    if (char === close && --depth === 0) return { text, end: i + 1, closed: true };
    text += char;
    i++;
  }
  return { text, end: i, closed: false };
}

const isWord = (token: Token | undefined): token is { kind: 'word'; text: string } => token?.kind === 'word';

/** Parses one Authentication-Results field value. */
export function parseAuthenticationResults(value: string): AuthenticationResults {
  const { tokens, unterminated } = tokenize(value);
  let malformed = unterminated;
  const comments = () => {
    while (tokens[at]?.kind === 'comment') at++;
  };
  let at = 0;
  comments();
  let authservId: string | undefined;
  // Microsoft 365: the first thing is already `method=result`, so there is no authserv-id.
  const first = tokens[at];
  if (
    (first?.kind === 'word' || first?.kind === 'quoted') &&
    tokens[nextNonComment(tokens, at + 1)]?.kind !== 'equals'
  ) {
    authservId = first.text.toLowerCase();
    at++;
    comments();
    // authres-version: digits, possibly followed by comments.
    if (isWord(tokens[at]) && /^\d+$/.test((tokens[at] as { text: string }).text)) at++;
  }
  const groups = splitAtSemicolons(tokens.slice(at));
  if (authservId !== undefined) {
    // With an authserv-id, whatever stands before the first ';' is not part of the grammar.
    const lead = groups.shift() ?? [];
    if (lead.some((token) => token.kind !== 'comment')) malformed = true;
  }
  const meaningful = groups.filter((group) => group.some((token) => token.kind !== 'comment'));
  const none =
    meaningful.length === 1 && meaningful[0]!.filter((token) => token.kind !== 'comment').every(isNoneWord);
  const results: AuthResult[] = [];
  if (!none) {
    for (const group of meaningful) {
      const result = parseResinfo(group);
      if (result === undefined) malformed = true;
      else results.push(result);
    }
  }
  if (authservId === undefined && results.length === 0) malformed = true;
  return { authservId, none, results, malformed };
}

function isNoneWord(token: Token): boolean {
  return token.kind === 'word' && token.text.toLowerCase() === 'none';
}

function nextNonComment(tokens: readonly Token[], from: number): number {
  let i = from;
  while (tokens[i]?.kind === 'comment') i++;
  return i;
}

function splitAtSemicolons(tokens: readonly Token[]): Token[][] {
  const groups: Token[][] = [[]];
  for (const token of tokens) {
    if (token.kind === 'semicolon') groups.push([]);
    else groups.at(-1)!.push(token);
  }
  return groups;
}

/**
 * CFWS may stand around the `/` of `method / version` and the `.` of `ptype . property` (RFC 8601
 * §2.2); with the comments gone, the pieces are joined back into one word.
 */
function joinDotsAndSlashes(tokens: readonly Token[]): Token[] {
  const joined: Token[] = [];
  for (const token of tokens) {
    const previous = joined.at(-1);
    // A value ending in a dot (`smtp.helo=mail.example.org.`) is not joined to the key after it.
    const previousIsValue = joined.at(-2)?.kind === 'equals';
    if (
      isWord(previous) &&
      isWord(token) &&
      (/^[./]/.test(token.text) || (/[./]$/.test(previous.text) && !previousIsValue))
    ) {
      joined[joined.length - 1] = { kind: 'word', text: previous.text + token.text };
    } else {
      joined.push(token);
    }
  }
  return joined;
}

/**
 * One resinfo: `method[/version] = result`, then `reason = value` and `ptype.property = pvalue` pairs.
 * Undefined when it does not start with `method=result`. A pair that cannot be read ends the resinfo
 * (what came before it is kept).
 */
function parseResinfo(group: readonly Token[]): AuthResult | undefined {
  const comments = group.filter((token) => token.kind === 'comment').map((token) => token.text);
  const tokens = joinDotsAndSlashes(group.filter((token) => token.kind !== 'comment'));
  const [method, equals, result] = tokens;
  if (!isWord(method) || equals?.kind !== 'equals' || !isWord(result)) return undefined;
  const methodName = method.text.split('/')[0]!.toLowerCase();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(methodName) || !/^[A-Za-z0-9-]+$/.test(result.text)) return undefined;
  let reason: string | undefined;
  const properties = new Map<string, string>();
  for (let i = 3; i + 2 < tokens.length; i += 3) {
    const key = tokens[i];
    const eq = tokens[i + 1];
    const val = tokens[i + 2];
    if (!isWord(key) || eq?.kind !== 'equals' || (val?.kind !== 'word' && val?.kind !== 'quoted')) break;
    const name = key.text.toLowerCase();
    if (name === 'reason') reason = val.text;
    else if (!properties.has(name)) properties.set(name, val.text);
  }
  return { method: methodName, result: result.text.toLowerCase(), reason, properties, comments };
}
