/**
 * docs/consume-events.md routes mail with EventBridge rules on field paths of the notification: a path that
 * is not in the notification makes a rule that never matches, silently. Every path the page names
 * (`detail.…` in the text, and each key path of a `detail: { … }` pattern in its CDK examples) must be one
 * the notification's JSON Schema defines; and the event's source and detail-type are the notifier's.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EMAIL_RECEIVED_DETAIL_TYPE, EVENT_SOURCE } from '../../../lib/adapters/eventbridge-notifier.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const PAGE = readFileSync(path.join(ROOT, 'docs', 'consume-events.md'), 'utf8');
const SCHEMA = JSON.parse(readFileSync(path.join(ROOT, 'schema', 'notification.schema.json'), 'utf8'));

interface SchemaNode {
  $ref?: string;
  properties?: Record<string, SchemaNode>;
}

/** Whether the schema defines the dotted path below the notification's root. */
function definesPath(dotted: string): boolean {
  let node: SchemaNode | undefined = SCHEMA;
  for (const name of dotted.split('.')) {
    while (node?.$ref !== undefined) node = SCHEMA.$defs[node.$ref.replace('#/$defs/', '')];
    node = node?.properties?.[name];
    if (node === undefined) return false;
  }
  return true;
}

/** `detail.a.b` paths written in code spans of the text. */
function textPaths(page: string): string[] {
  return [...page.matchAll(/`detail\.([A-Za-z0-9_.]+)`/g)].map((match) => match[1]!);
}

/**
 * The key paths of each `detail: { … }` object in the TypeScript examples, down to the first value that
 * is not an object literal (`['support']`, `events.Match.…(…)`).
 */
function patternPaths(page: string): string[] {
  const paths: string[] = [];
  for (const [, block] of page.matchAll(/```ts\n([\s\S]*?)```/g)) {
    for (const match of block!.matchAll(/\bdetail: \{/g)) {
      walk(block!, match.index + match[0].length, [], paths);
    }
  }
  return paths;
}

/** Reads `key: value` pairs of the object literal starting at `from` (after its `{`); returns where it ends. */
function walk(text: string, from: number, prefix: string[], paths: string[]): number {
  let at = from;
  for (;;) {
    const rest = text.slice(at);
    const close = /^[\s,]*(?:\/\/[^\n]*\n[\s,]*)*\}/.exec(rest);
    if (close) return at + close[0].length;
    const key = /^[\s,]*(?:\/\/[^\n]*\n[\s,]*)*([A-Za-z0-9_]+): /.exec(rest);
    if (!key) throw new Error(`cannot read the pattern at: ${rest.slice(0, 60)}`);
    at += key[0].length;
    const keyPath = [...prefix, key[1]!];
    if (text[at] === '{') {
      at = walk(text, at + 1, keyPath, paths);
    } else {
      paths.push(keyPath.join('.'));
      at = endOfValue(text, at);
    }
  }
}

/** Skips one value (brackets balanced) up to the `,` or `}` that ends it. */
function endOfValue(text: string, from: number): number {
  let depth = 0;
  let at = from;
  for (; at < text.length; at++) {
    const char = text[at]!;
    if ('([{'.includes(char)) depth++;
    else if (')]}'.includes(char)) {
      if (depth === 0) return at;
      depth--;
    } else if (char === ',' && depth === 0) return at;
  }
  return at;
}

describe('docs/consume-events.md', () => {
  it('names only field paths the notification has', () => {
    const paths = [...textPaths(PAGE), ...patternPaths(PAGE)];
    expect(paths).toEqual(
      expect.arrayContaining([
        'receipt.recipients',
        'pop3.mailboxId',
        'receipt.spamVerdict.status',
        'mail.source',
      ]),
    );
    expect(paths.filter((dotted) => !definesPath(dotted))).toEqual([]);
  });

  it('a path the notification lacks is caught', () => {
    expect(definesPath('receipt.spamVerdict.status')).toBe(true);
    expect(definesPath('receipt.spamVerdict.verdict')).toBe(false);
    expect(
      patternPaths("```ts\ndetail: { pop3: { mailbox: ['x'] }, receipt: { a: { b: f({ c: 1 }) } } },\n```"),
    ).toEqual(['pop3.mailbox', 'receipt.a.b']);
  });

  it("matches on the notifier's own source and detail-type", () => {
    const sources = [...PAGE.matchAll(/source: \['([^']+)'\]/g)].map((match) => match[1]);
    const detailTypes = [...PAGE.matchAll(/detailType: \['([^']+)'\]/g)].map((match) => match[1]);
    expect(sources.length).toBeGreaterThan(0);
    expect(new Set(sources)).toEqual(new Set([EVENT_SOURCE]));
    expect(new Set(detailTypes)).toEqual(new Set([EMAIL_RECEIVED_DETAIL_TYPE]));
    expect(PAGE).toContain(`"source": "${EVENT_SOURCE}"`);
    expect(PAGE).toContain(`"detail-type": "${EMAIL_RECEIVED_DETAIL_TYPE}"`);
  });
});
