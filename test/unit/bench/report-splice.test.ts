import { describe, expect, it } from 'vitest';
import { spliceSections } from '../../../bench/report.ts';
import { KEEP_STATE_HEADING, withKeepStateSection } from '../../../bench/scenarios/keep-state.ts';

const existing = [
  '# Benchmarks',
  '',
  'Measured then.',
  '',
  '## 1. Loopback',
  '',
  'old loopback numbers',
  '',
  '## 7. The fleet',
  '',
  'old fleet numbers',
  '',
  '## Where the time goes',
  '',
  'profile',
  '',
  '## Notes',
  '',
  'old notes',
  '',
].join('\n');

describe('BENCHMARKS.md from a partial run', () => {
  it('replaces the measured sections and keeps every other one as it was', () => {
    const rendered =
      '# Benchmarks\n\nMeasured now.\n\n## 7. The fleet\n\nnew fleet\n\n## Notes\n\nnew notes\n';
    const result = spliceSections(existing, rendered, ['## 7. The fleet', '## Notes']);
    expect(result).toContain('Measured then.');
    expect(result).toContain('old loopback numbers');
    expect(result).toContain('new fleet');
    expect(result).not.toContain('old fleet numbers');
    expect(result).toContain('new notes');
    expect(result).not.toContain('old notes');
  });

  it('puts a section the report did not have yet before the profile section', () => {
    const rendered = '# Benchmarks\n\n## 8. Arithmetic\n\nsums\n';
    const result = spliceSections(existing, rendered, ['## 8. Arithmetic']);
    const order = [
      '## 1. Loopback',
      '## 7. The fleet',
      '## 8. Arithmetic',
      '## Where the time goes',
      '## Notes',
    ];
    const positions = order.map((heading) => result.indexOf(heading));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });
});

describe('BENCHMARKS.md with the keep-mode state section', () => {
  it('puts it before the notes when the run made no CPU profile (a smoke run)', () => {
    const report = '# Benchmarks\n\n## 8. Cost\n\ncost\n\n## Notes\n\nnotes\n';
    const result = withKeepStateSection(report, `${KEEP_STATE_HEADING}\n\nstate\n`);
    expect(result.indexOf(KEEP_STATE_HEADING)).toBeGreaterThan(result.indexOf('## 8. Cost'));
    expect(result.indexOf(KEEP_STATE_HEADING)).toBeLessThan(result.indexOf('## Notes'));
  });
});
