/**
 * Finds where a JSON text (RFC 8259) goes wrong, for a config error that names the file, line and column.
 * `JSON.parse` messages differ between Node versions, and newer ones quote a slice of the text, which in a
 * config file may be a password; this scanner reports a position and a problem, never the content.
 */

export interface JsonSyntaxProblem {
  /** 1-based. */
  readonly line: number;
  /** 1-based, in UTF-16 code units, as editors count. */
  readonly column: number;
  readonly problem: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {}
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPABLE = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERALS = ['true', 'false', 'null'];

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  let at = 0;

  const fail = (problem: string, offset = at): never => {
    throw new Stop(offset, problem);
  };
  const skipWhitespace = () => {
    while (at < text.length && WHITESPACE.has(text[at]!)) at++;
  };
  const end = () => at >= text.length;

  const string = () => {
    const start = at++;
    for (;;) {
      if (end()) fail('unterminated string', start);
      const char = text[at]!;
      if (char === '"') {
        at++;
        return;
      }
      if (char < ' ')
        fail('line break or control character inside a string (write it as an escape such as \\n)');
      if (char === '\\') {
        const escaped = text[at + 1];
        if (escaped === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(at + 2, at + 6))) at += 6;
        else if (escaped !== undefined && ESCAPABLE.has(escaped)) at += 2;
        else fail('invalid escape sequence in a string');
      } else {
        at++;
      }
    }
  };

  /** Length of the number or literal (true, false, null) at the current position. */
  const scalarLength = (char: string): number => {
    NUMBER.lastIndex = at;
    if (NUMBER.test(text)) return NUMBER.lastIndex - at;
    const literal = LITERALS.find((word) => text.startsWith(word, at));
    if (literal !== undefined) return literal.length;
    return fail(
      char === "'" ? 'strings must be in double quotes' : 'unexpected character, a value was expected',
    );
  };

  const value = (): void => {
    skipWhitespace();
    if (end()) fail('unexpected end of the file, a value was expected');
    const char = text[at]!;
    if (char === '{') object();
    else if (char === '[') array();
    else if (char === '"') string();
    else at += scalarLength(char);
  };

  const object = () => {
    at++;
    skipWhitespace();
    if (text[at] === '}') {
      at++;
      return;
    }
    for (;;) {
      skipWhitespace();
      if (text[at] !== '"')
        fail(end() ? 'unexpected end of the file' : 'expected a property name in double quotes');
      string();
      skipWhitespace();
      if (text[at] !== ':') fail("expected ':' after a property name");
      at++;
      value();
      skipWhitespace();
      if (text[at] === '}') {
        at++;
        return;
      }
      if (text[at] !== ',')
        fail(end() ? 'unexpected end of the file' : "expected ',' or '}' after a property value");
      at++;
      skipWhitespace();
      if (text[at] === '}') fail('trailing comma before }');
    }
  };

  const array = () => {
    at++;
    skipWhitespace();
    if (text[at] === ']') {
      at++;
      return;
    }
    for (;;) {
      value();
      skipWhitespace();
      if (text[at] === ']') {
        at++;
        return;
      }
      if (text[at] !== ',')
        fail(end() ? 'unexpected end of the file' : "expected ',' or ']' after an element");
      at++;
      skipWhitespace();
      if (text[at] === ']') fail('trailing comma before ]');
    }
  };

  try {
    value();
    skipWhitespace();
    if (!end()) fail('unexpected content after the end of the JSON document');
    return undefined;
  } catch (stop) {
    if (!(stop instanceof Stop)) throw stop;
    return { ...lineAndColumn(text, stop.offset), problem: stop.problem };
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
