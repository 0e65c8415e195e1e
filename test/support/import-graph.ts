/**
 * The project's own import graph: for each .ts file under the given folders, the project files it
 * imports through a static `import` or `export … from`, `import type` included (a type-only import
 * still ties one module's shape to another's). Dynamic `import()` is left out: it is how a module loads
 * something on demand, not a dependency of its shape. Read with the TypeScript parser, not a pattern, so
 * a comment or a string that looks like an import is not one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** File → the project files it imports, all paths relative to the root with forward slashes. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export function buildImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const folder of folders) {
    const names = readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' });
    for (const name of names) {
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
      const file = path.posix.join(folder, name.split(path.sep).join('/'));
      graph.set(file, importsOf(root, file));
    }
  }
  return graph;
}

function importsOf(root: string, file: string): string[] {
  const source = ts.createSourceFile(
    file,
    readFileSync(path.join(root, file), 'utf8'),
    ts.ScriptTarget.Latest,
  );
  const targets: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
    const specifier = statement.moduleSpecifier;
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.'))
      continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier.text));
    targets.push(target.replace(/\.js$/, '.ts'));
  }
  return [...new Set(targets)];
}

/**
 * Every import cycle, as its strongly connected component (Tarjan's algorithm), files sorted; a file
 * importing itself counts. Imports of files outside the graph (schema/*.json) are not followed.
 */
export function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const lowest = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    lowest.set(file, index.get(file) as number);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        lowest.set(file, Math.min(lowest.get(file) as number, lowest.get(target) as number));
      } else if (onStack.has(target)) {
        lowest.set(file, Math.min(lowest.get(file) as number, index.get(target) as number));
      }
    }
    if (lowest.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string | undefined;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}
