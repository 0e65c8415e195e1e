import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJsonSyntaxProblem } from '../../../lib/config/json-syntax.ts';
import { ConfigError, loadConfigFile } from '../../../lib/config/load-config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'config-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const filePath = path.join(dir, name);
  await writeFile(filePath, content);
  return filePath;
}

async function configErrorOf(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error;
}

const valid = {
  mailboxes: [
    { id: 'support', host: 'pop.example.com', tls: 'implicit', username: 'u', password: 'hunter2' },
  ],
};

describe('loadConfigFile', () => {
  it('reads, validates and completes a config file (with or without a byte order mark)', async () => {
    const plain = await loadConfigFile(await fileWith('plain.json', JSON.stringify(valid, null, 2)));
    const withBom = await loadConfigFile(await fileWith('bom.json', `\uFEFF${JSON.stringify(valid)}`));
    expect(plain.mailboxes[0]).toMatchObject({
      id: 'support',
      port: 995,
      credential: { literal: 'hunter2' },
    });
    expect(withBom).toEqual(plain);
  });

  it('names the file when it cannot be read', async () => {
    const missing = path.join(dir, 'missing.json');
    const error = await configErrorOf(loadConfigFile(missing));
    expect(error.problems).toEqual([`${missing}: cannot be read (ENOENT)`]);
  });

  it('refuses a file that is not UTF-8 text', async () => {
    const filePath = await fileWith('latin1.json', Buffer.from('{"mailboxes": "\xe9"}', 'latin1'));
    expect((await configErrorOf(loadConfigFile(filePath))).problems).toEqual([
      `${filePath}: is not UTF-8 text`,
    ]);
  });

  it('points at the line and column of a syntax error without quoting the text', async () => {
    const text = '{\n  "mailboxes": [\n    { "password": "hunter2" "id": "x" }\n  ]\n}\n';
    const filePath = await fileWith('syntax.json', text);
    const error = await configErrorOf(loadConfigFile(filePath));
    expect(error.problems).toEqual([`${filePath}:3:29: expected ',' or '}' after a property value`]);
    expect(error.message).not.toContain('hunter2');
  });

  it('reports an unterminated password string without showing it', async () => {
    const filePath = await fileWith('open.json', '{"mailboxes": [{"password": "hunter2}]}');
    const error = await configErrorOf(loadConfigFile(filePath));
    expect(error.problems).toEqual([`${filePath}:1:29: unterminated string`]);
    expect(error.message).not.toContain('hunter2');
  });

  it('names the file and every schema problem', async () => {
    const filePath = await fileWith(
      'bad.json',
      JSON.stringify({ mailboxes: [{ ...valid.mailboxes[0], tls: 'tls' }] }),
    );
    const error = await configErrorOf(loadConfigFile(filePath));
    expect(error.problems).toEqual(['mailboxes[0].tls: must be one of "implicit", "starttls", "none"']);
    expect(error.message).toBe(
      `invalid configuration in ${filePath}:\n  mailboxes[0].tls: must be one of "implicit", "starttls", "none"`,
    );
  });
});

describe('findJsonSyntaxProblem', () => {
  const cases: [string, number, number, string][] = [
    ['', 1, 1, 'unexpected end of the file, a value was expected'],
    ['{"a": 1,}', 1, 9, 'trailing comma before }'],
    ['[1, 2,\n]', 2, 1, 'trailing comma before ]'],
    ["{'a': 1}", 1, 2, 'expected a property name in double quotes'],
    ['{"a" 1}', 1, 6, "expected ':' after a property name"],
    ['[1 2]', 1, 4, "expected ',' or ']' after an element"],
    [
      '{"a": "x\ny"}',
      1,
      9,
      'line break or control character inside a string (write it as an escape such as \\n)',
    ],
    ['"\\q"', 1, 2, 'invalid escape sequence in a string'],
    ['{"a": tru}', 1, 7, 'unexpected character, a value was expected'],
    ['{"a": 01}', 1, 8, "expected ',' or '}' after a property value"],
    ['{} {}', 1, 4, 'unexpected content after the end of the JSON document'],
    ['{"a": [1, {"b": ', 1, 17, 'unexpected end of the file, a value was expected'],
  ];

  it.each(cases)('finds the problem in %j at line %i, column %i', (text, line, column, problem) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxProblem(text)).toEqual({ line, column, problem });
  });

  it('accepts every document JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
        expect(findJsonSyntaxProblem(JSON.stringify(value, null, indent))).toBeUndefined();
      }),
    );
  });

  it('agrees with JSON.parse on damaged documents', () => {
    const damaged = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.nat({ max: 3 }),
        fc.constantFrom('', ',', '}', ']', '"', ':', '\\', '\n', 'x'),
      )
      .map(([text, at, cut, insert]) => {
        const position = at % (text.length + 1);
        return text.slice(0, position) + insert + text.slice(position + cut);
      });
    fc.assert(
      fc.property(damaged, (text) => {
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        expect(findJsonSyntaxProblem(text) === undefined).toBe(parses);
      }),
      { numRuns: 2000 },
    );
  });
});
