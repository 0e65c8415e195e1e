/**
 * The reasons a run reports are a closed set, documented for a person to act on: the list in
 * lib/pipeline/reasons.ts, the tables in docs/outcomes.md and every reason the code writes must agree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PARSE_FAILURE_REASONS } from '../../../lib/parsed/document.ts';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { StoreUnavailableError } from '../../../lib/pipeline/errors.ts';
import {
  DRY_RUN_LEFT_REASONS,
  isOutcomeReason,
  OUTCOME_REASONS,
  SKIP_REASONS,
} from '../../../lib/pipeline/reasons.ts';
import {
  Pop3AuthenticationError,
  Pop3ConnectionError,
  Pop3Error,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3ServerError,
  Pop3TimeoutError,
  Pop3UsageError,
} from '../../../lib/pop3/errors.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DOC = readFileSync(path.join(ROOT, 'docs', 'outcomes.md'), 'utf8');

/** The rows of the markdown table under `## heading`: first cell → the other cells. */
function tableRows(heading: string): Map<string, string[]> {
  const section = DOC.split(/^## /m).find((part) => part.startsWith(`${heading}\n`));
  if (section === undefined) throw new Error(`docs/outcomes.md has no "## ${heading}"`);
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    const name = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (name !== undefined) rows.set(name, cells.slice(1));
  }
  return rows;
}

/** Every TypeScript file under lib/ and functions/. */
function sourceFiles(): string[] {
  return ['lib', 'functions'].flatMap((top) =>
    readdirSync(path.join(ROOT, top), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => path.join(ROOT, top, name)),
  );
}

describe('outcome reasons', () => {
  it('docs/outcomes.md documents every reason, with its status and what to do, and no other', () => {
    const rows = tableRows('Reasons');
    expect([...rows.keys()].sort()).toEqual(Object.keys(OUTCOME_REASONS).sort());
    for (const [reason, [status, happened, todo]] of rows) {
      expect(status, reason).toBe(OUTCOME_REASONS[reason as keyof typeof OUTCOME_REASONS]);
      expect(happened, reason).not.toBe('');
      expect(todo, reason).not.toBe('');
    }
  });

  it('docs/outcomes.md documents every skip reason, and no other', () => {
    const rows = tableRows('Skipped messages');
    expect([...rows.keys()].sort()).toEqual([...SKIP_REASONS].sort());
    for (const [reason, cells] of rows)
      expect(
        cells.every((cell) => cell !== ''),
        reason,
      ).toBe(true);
    for (const left of DRY_RUN_LEFT_REASONS) expect(DOC).toContain(`\`${left}\``);
  });

  it('every reason written as a literal in lib/ or functions/ is in the list', () => {
    const known = new Set<string>([
      ...Object.keys(OUTCOME_REASONS),
      ...SKIP_REASONS,
      ...DRY_RUN_LEFT_REASONS,
      // The parse stage's own: why a parsed document says `failed` (docs/parsed-mail.md).
      ...PARSE_FAILURE_REASONS,
    ]);
    const written = new Map<string, string>();
    for (const file of sourceFiles()) {
      // The metric dimension names (`reason: 'Reason'`) are names, not reasons.
      if (file.endsWith(path.join('lib', 'lambda', 'metric-names.ts'))) continue;
      for (const match of readFileSync(file, 'utf8').matchAll(/\breason: '([^']+)'/g)) {
        written.set(match[1]!, path.relative(ROOT, file));
      }
    }
    expect(written.size).toBeGreaterThan(10);
    for (const [reason, file] of written) expect(known.has(reason), `${reason} in ${file}`).toBe(true);
  });

  it('every failure classifies into a listed reason, never a class name (bundles may shorten those)', () => {
    /** What a minifier makes of a class: its name is two letters. */
    class Kn extends Pop3Error {}
    const failures: unknown[] = [
      new Pop3ServerError('[IN-USE] locked'),
      new Pop3ServerError('[LOGIN-DELAY] wait'),
      new Pop3ServerError('[SYS/TEMP] later'),
      new Pop3ServerError('[SYS/PERM] broken'),
      new Pop3ServerError('[UNKNOWN-CODE] hmm'),
      new Pop3ServerError('no such message'),
      new Pop3AuthenticationError('[AUTH] bad password'),
      new Pop3AuthenticationError('[SYS/PERM] account disabled'),
      new Pop3TimeoutError('slow', { phase: 'deadline' }),
      new Pop3TimeoutError('slow', { phase: 'idle' }),
      new Pop3ConnectionError('refused'),
      new Pop3ProtocolError('garbage'),
      new Pop3SecurityError('no TLS'),
      new Pop3UsageError('wrong state'),
      new Kn('shortened'),
      new StoreUnavailableError('store down'),
      Object.assign(new Error('variable X is not set'), { name: 'CredentialsError' }),
      new TypeError('oops'),
      'a string',
    ];
    for (const failure of failures) {
      const { reason, status } = classifyFailure(failure);
      expect(isOutcomeReason(reason), `${String(failure)} → ${reason}`).toBe(true);
      expect(OUTCOME_REASONS[reason]).toBe(status);
    }
    expect(classifyFailure(new Kn('shortened')).reason).toBe('protocol');
  });
});
