/**
 * Reading the project's markdown as a user's browser would: relative links, heading anchors, table rows.
 * Shared by the docs tests (test/unit/docs/*.test.ts).
 */
import path from 'node:path';

/** What marks a link to a file that is in the repository and not in the npm package. */
export const REPOSITORY_ONLY_MARK = '(in the repository)';

/** Fenced code blocks hold examples, not links or headings. */
function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = withoutCodeBlocks(markdown);
  for (const match of withoutCode.matchAll(/^#{1,6} +(.+?) *#* *$/gm)) {
    const slug = match[1]!
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

export interface LinkProblem {
  readonly page: string;
  readonly target: string;
  readonly problem: string;
}

/**
 * The problems of one page's relative links: a target that does not exist, one outside the package
 * without the repository-only mark, an anchor that is no heading of its page.
 */
export function linkProblems(
  page: string,
  markdown: string,
  files: {
    exists(relative: string): boolean;
    read(relative: string): string;
    shipped(relative: string): boolean;
  },
): LinkProblem[] {
  const problems: LinkProblem[] = [];
  const withoutCode = withoutCodeBlocks(markdown).replace(/`[^`\n]*`/g, '');
  for (const match of withoutCode.matchAll(/\[[^\]]*\]\(([^)\s]+)\)( *\(in the repository\))?/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [file = '', anchor] = target.split('#');
    const relative =
      file === '' ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
    const problem = (text: string) => problems.push({ page, target, problem: text });
    if (relative.startsWith('..') || !files.exists(relative)) {
      problem(`${relative} does not exist`);
      continue;
    }
    const markedRepositoryOnly = match[2] !== undefined;
    if (!files.shipped(relative) && !markedRepositoryOnly)
      problem(`${relative} is not in the npm package: link elsewhere, or add "${REPOSITORY_ONLY_MARK}"`);
    if (files.shipped(relative) && markedRepositoryOnly)
      problem(`${relative} ships in the package: drop "${REPOSITORY_ONLY_MARK}"`);
    if (anchor !== undefined && relative.endsWith('.md') && !headingAnchors(files.read(relative)).has(anchor))
      problem(`${relative} has no heading #${anchor}`);
  }
  return problems;
}

/** The text of `markdown` from the line `startLine` to the next heading of any level. */
export function sectionFrom(markdown: string, startLine: string): string {
  const start = markdown.indexOf(`\n${startLine}`);
  if (start === -1) throw new Error(`no line starting "${startLine}"`);
  const rest = markdown.slice(start + 1 + startLine.length);
  const end = rest.search(/^#{1,6} /m);
  return end === -1 ? rest : rest.slice(0, end);
}

/** The first cells of the rows of every table in `section` (header and separator rows left out). */
export function firstCells(section: string): string[] {
  const lines = section.split('\n').filter((line) => line.trimStart().startsWith('|'));
  return lines
    .filter(
      (line, index) =>
        !/^\s*\|[\s:|-]+\|\s*$/.test(line) && !/^\s*\|[\s:|-]+\|\s*$/.test(lines[index + 1] ?? ''),
    )
    .map((line) => line.split('|')[1]?.trim() ?? '');
}

/** The `code` names in a table cell: "`SYS/PERM`, `server-error`" → ['SYS/PERM', 'server-error']. */
export function codeNames(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
}
