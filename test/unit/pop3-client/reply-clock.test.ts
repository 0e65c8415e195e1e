/** The minimum pace of a reply, on a clock the test moves by hand. */
import { describe, expect, it } from 'vitest';
import { ReplyClock } from '../../../lib/pop3-client/reply-clock.ts';

function clockAt(pace = { replyMs: 1_000, minBytesPerSecond: 100 }) {
  let now = 0;
  const clock = new ReplyClock(pace, () => now);
  return { clock, advance: (ms: number) => (now += ms) };
}

describe('ReplyClock', () => {
  it('a reply may take replyMs, plus 1 s per minBytesPerSecond octets it delivered', () => {
    const { clock, advance } = clockAt();
    clock.restart();
    advance(1_000);
    expect(clock.overdue()).toBeUndefined();
    advance(1);
    expect(clock.overdue()).toEqual({ elapsedMs: 1_001, received: 0 });
    clock.received(100); // earns one more second
    expect(clock.overdue()).toBeUndefined();
    advance(1_000);
    expect(clock.overdue()).toEqual({ elapsedMs: 2_001, received: 100 });
  });

  it('a trickle falls behind however long it keeps sending', () => {
    const { clock, advance } = clockAt();
    clock.restart();
    let late: ReturnType<ReplyClock['overdue']>;
    for (let second = 1; second <= 10 && late === undefined; second++) {
      advance(1_000);
      clock.received(1);
      late = clock.overdue();
    }
    expect(late).toEqual({ elapsedMs: 2_000, received: 2 });
  });

  it('time we hold the server back does not count, nor does the previous reply', () => {
    const { clock, advance } = clockAt();
    clock.restart();
    advance(900);
    clock.paused();
    advance(60_000); // our store is slow: backpressure, not the server
    expect(clock.overdue()).toBeUndefined();
    clock.resumed();
    advance(100);
    expect(clock.overdue()).toBeUndefined();
    advance(1);
    expect(clock.overdue()).toEqual({ elapsedMs: 1_001, received: 0 });
    clock.restart(); // the next reply starts with a fresh allowance
    expect(clock.overdue()).toBeUndefined();
  });
});
