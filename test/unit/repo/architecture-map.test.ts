/**
 * ARCHITECTURE.md is the map a newcomer reads first, so it must not leave out a room: every folder under
 * lib/, infra/ and functions/, and the rooms beside them (bench/, scripts/, schema/, docs/, test/support/),
 * is named in it as a path (`lib/lambda/` or `lib/lambda`). A folder added without a line in the map fails
 * here; file names are not checked, since files move within their folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SOURCE_ROOTS = ['lib', 'infra', 'functions'];
const OTHER_ROOMS = ['bench', 'scripts', 'schema', 'docs', 'test/support', 'bin'];

function foldersUnder(root: string): string[] {
  const below = readdirSync(path.join(ROOT, root), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  return [root, ...below];
}

/** Whether `text` names `folder` as a path: followed by a slash, or ending at a backtick or space. */
function names(text: string, folder: string): boolean {
  const escaped = folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s\`(|])${escaped}(/|\`|\\s|$)`, 'm').test(text);
}

describe('ARCHITECTURE.md covers every room', () => {
  const map = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');

  it('names every folder under lib/, infra/ and functions/', () => {
    const folders = SOURCE_ROOTS.flatMap(foldersUnder);
    expect(folders.length).toBeGreaterThan(SOURCE_ROOTS.length);
    expect(folders.filter((folder) => !names(map, folder))).toEqual([]);
  });

  it('names the rooms beside the sources', () => {
    expect(OTHER_ROOMS.filter((folder) => !names(map, folder))).toEqual([]);
  });

  it('recognises a folder only as a path, not as a word inside another', () => {
    expect(names('see `lib/pop3-client/` here', 'lib/pop3')).toBe(false);
    expect(names('see `lib/pop3/` here', 'lib/pop3')).toBe(true);
  });
});
