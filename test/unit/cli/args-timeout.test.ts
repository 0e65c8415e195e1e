/** The CLI's overall deadline: on by default, so a stalling or trickling server cannot hold a run forever. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_SECONDS, parseCommandLine, USAGE, UsageError } from '../../../lib/cli/args.ts';

function timeoutOf(...flags: string[]): number | undefined {
  const parsed = parseCommandLine(['poll', '--config', 'c.json', ...flags], {});
  if (parsed.kind !== 'poll') throw new Error('expected a poll command');
  return parsed.poll.timeoutMs;
}

describe('--timeout', () => {
  it('defaults to 15 minutes, as the help text says', () => {
    expect(DEFAULT_TIMEOUT_SECONDS).toBe(900);
    expect(timeoutOf()).toBe(900_000);
    expect(USAGE).toContain('default: 900, 15 minutes');
  });

  it('takes seconds', () => {
    expect(timeoutOf('--timeout', '60')).toBe(60_000);
  });

  it('0 means no deadline', () => {
    expect(timeoutOf('--timeout', '0')).toBeUndefined();
  });

  it('refuses what is not a whole number', () => {
    expect(() => timeoutOf('--timeout', '-1')).toThrow(UsageError);
    expect(() => timeoutOf('--timeout', '1.5')).toThrow(UsageError);
  });
});
