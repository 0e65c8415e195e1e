import { describe, expect, it } from 'vitest';
import { healthWrites } from '../../../bench/scenarios/fleet-health.ts';

describe('fleet scenario: health records a run wrote', () => {
  it('counts the records a run created or changed, not the ones it left as they were', () => {
    const before = new Map([
      ['mail/.health/a.json', '"1"'],
      ['mail/.health/b.json', '"2"'],
    ]);
    const after = new Map([
      ['mail/.health/a.json', '"1"'],
      ['mail/.health/b.json', '"3"'],
      ['mail/.health/c.json', '"4"'],
    ]);
    expect(healthWrites(before, after)).toEqual({ records: 3, written: 2 });
    expect(healthWrites(after, after)).toEqual({ records: 3, written: 0 });
  });
});
