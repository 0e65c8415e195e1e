/**
 * The pages a user reads after `npm install` are README.md and docs/: every relative link in them must
 * lead to a file the npm package ships (package.json "files", plus what npm always packs), with its
 * anchor a heading of that page. A link to a file only the repository has (a test, infra/app.ts) must say
 * so: it is followed by the words "(in the repository)" (the convention ARCHITECTURE.md states).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { linkProblems } from '../../support/doc-links.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Files npm packs whatever "files" says (npm docs, package.json "files"). */
const ALWAYS_PACKED = ['package.json', 'README.md', 'LICENSE'];

function shippedFolders(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  return manifest.files.map((entry) => entry.replace(/\/$/, ''));
}

/** The pages a user of the package reads: README.md and every .md under docs/. */
function shippedPages(): string[] {
  const docs = readdirSync(path.join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name));
  return ['README.md', ...docs];
}

const repository = {
  exists: (relative: string) => existsSync(path.join(ROOT, relative)),
  read: (relative: string) => readFileSync(path.join(ROOT, relative), 'utf8'),
  shipped: (relative: string) =>
    ALWAYS_PACKED.includes(relative) ||
    shippedFolders().some((folder) => relative === folder || relative.startsWith(`${folder}/`)),
};

describe('links in README.md and docs/', () => {
  it('every relative link resolves to a file of the package, or is marked as in the repository only', () => {
    const pages = shippedPages();
    expect(pages.length).toBeGreaterThan(5);
    const problems = pages.flatMap((page) => linkProblems(page, repository.read(page), repository));
    expect(problems).toEqual([]);
  });

  it('the check finds a missing file, an unmarked repository file, a wrong anchor and a needless mark', () => {
    const files = {
      exists: (relative: string) => ['docs/a.md', 'test/x.test.ts', 'README.md'].includes(relative),
      read: () => '# Title\n\n## Scale and cost\n',
      shipped: (relative: string) => relative.startsWith('docs/') || relative === 'README.md',
    };
    const page = [
      '[ok](a.md#scale-and-cost) [ok](../test/x.test.ts) (in the repository) [web](https://x.org/y)',
      '[gone](b.md) [unmarked](../test/x.test.ts) [anchor](a.md#nothing) [marked](a.md) (in the repository)',
      '`[in code](c.md)`',
    ].join('\n');
    expect(linkProblems('docs/page.md', page, files).map((p) => p.target)).toEqual([
      'b.md',
      '../test/x.test.ts',
      'a.md#nothing',
      'a.md',
    ]);
  });
});
