/**
 * The size rules, checked: no source file in lib/, infra/ or functions/ longer than 300 lines, and no
 * function (declaration, method, arrow function, function expression) longer than 80 lines, counted from
 * the node's first token to its last. A file or function may stay larger only when ARCHITECTURE.md names it
 * in "## Exceptions to the size rules" with a reason: a line `- \`path\`: why` for a file, or
 * `- \`path: function\`: why` for a function.
 *
 * Code moves between folders while exceptions are written, so an exception that is no longer needed (the
 * file shrank, moved or was split) is reported, not failed: the merge that made it stale stays green, and
 * the report says which line to delete.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SOURCE_FOLDERS = ['lib', 'infra', 'functions'];
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;
const EXCEPTIONS_HEADING = '## Exceptions to the size rules';

interface FunctionSize {
  readonly name: string;
  readonly lines: number;
}

function sourceFiles(): string[] {
  return SOURCE_FOLDERS.flatMap((folder) =>
    readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
      .filter((name) => /\.(ts|mts|js|mjs)$/.test(name))
      .map((name) => path.posix.join(folder, name.split(path.sep).join('/'))),
  ).sort();
}

/** Lines of a file as an editor numbers them: a final newline does not start another line. */
function lineCount(text: string): number {
  return text.replace(/\n$/, '').split('\n').length;
}

/** The name a reader would look for: the declaration's own, or the binding or property it is assigned to. */
function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source);
  const parent = node.parent;
  if (
    (ts.isVariableDeclaration(parent) ||
      ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent)) &&
    parent.name !== undefined
  ) {
    return parent.name.getText(source);
  }
  const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  return `(anonymous, line ${line})`;
}

/** Every function in `text` with its length in lines. */
function functionSizes(fileName: string, text: string): FunctionSize[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const sizes: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)
    ) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      sizes.push({ name: functionName(node, source), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sizes;
}

interface Exception {
  readonly subject: string;
  readonly reason: string;
}

/** The "- `subject`: reason" lines of ARCHITECTURE.md's exceptions section. */
function declaredExceptions(): Exception[] {
  const text = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const start = text.indexOf(EXCEPTIONS_HEADING);
  if (start < 0) return [];
  const section = text.slice(start + EXCEPTIONS_HEADING.length).split(/\n## /)[0] ?? '';
  return [...section.matchAll(/^- `([^`]+)`[:\s—-]*(.*)$/gm)].map((match) => ({
    subject: (match[1] ?? '').trim(),
    reason: (match[2] ?? '').trim(),
  }));
}

/** Everything over the limits, as the subjects an exception line would name. */
function oversized(): { subject: string; detail: string }[] {
  const found: { subject: string; detail: string }[] = [];
  for (const file of sourceFiles()) {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const lines = lineCount(text);
    if (lines > MAX_FILE_LINES) found.push({ subject: file, detail: `${lines} lines` });
    for (const fn of functionSizes(file, text)) {
      if (fn.lines > MAX_FUNCTION_LINES) {
        found.push({ subject: `${file}: ${fn.name}`, detail: `${fn.lines} lines` });
      }
    }
  }
  return found;
}

describe('the size rules', () => {
  it('measures functions of every kind, from first token to last', () => {
    const body = Array.from({ length: 79 }, (_, index) => `  const v${index} = ${index};`).join('\n');
    const text = [
      `function declared() {\n${body}\n}`,
      `const arrow = () => {\n${body}\n};`,
      `const expression = function () {\n${body}\n};`,
      `class Holder {\n  method() {\n${body}\n  }\n}`,
      `run(() => 1);`,
    ].join('\n');
    expect(functionSizes('sample.ts', text)).toEqual([
      { name: 'declared', lines: 81 },
      { name: 'arrow', lines: 81 },
      { name: 'expression', lines: 81 },
      { name: 'method', lines: 81 },
      { name: '(anonymous, line 327)', lines: 1 },
    ]);
  });

  it('no file over 300 lines and no function over 80, unless ARCHITECTURE.md says why', () => {
    const exceptions = declaredExceptions();
    const found = oversized();
    const needed = new Set(found.map((item) => item.subject));
    const stale = exceptions.filter((exception) => !needed.has(exception.subject));
    if (stale.length > 0) {
      // Reported, not failed: the code shrank or moved, and the line in ARCHITECTURE.md can go.
      console.warn(
        `ARCHITECTURE.md names exceptions to the size rules no longer needed; delete their lines:\n${stale
          .map((exception) => `  - ${exception.subject}`)
          .join('\n')}`,
      );
    }
    // A line without its reason excuses nothing: the reason is what the next reader needs.
    const excepted = new Set(
      exceptions
        .filter((exception) => exception.reason.split(/\s+/).length >= 4)
        .map(({ subject }) => subject),
    );
    const unexplained = found.filter((item) => !excepted.has(item.subject));
    expect(unexplained.map((item) => `${item.subject} (${item.detail})`)).toEqual([]);
  });
});
