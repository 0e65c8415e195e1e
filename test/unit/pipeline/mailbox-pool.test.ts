/**
 * The one pool that polls several mailboxes at once (lib/pipeline/mailbox-pool.ts), shared by the
 * library's pollMailboxes and the CLI's poll under locks.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAILBOX_CONCURRENCY, pollConcurrently } from '../../../lib/pipeline/mailbox-pool.ts';

/** A poll per name that ends only when the test says so, with a record of what started when. */
function controlledPolls() {
  const started: string[] = [];
  const finish = new Map<string, (result: string) => void>();
  let running = 0;
  let mostAtOnce = 0;
  const poll = (name: string) =>
    new Promise<string>((resolve) => {
      started.push(name);
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      finish.set(name, (result) => {
        running--;
        resolve(result);
      });
    });
  /** Lets the pool take its next mailbox (its workers go on in a later microtask). */
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { poll, started, finish, settle, mostAtOnce: () => mostAtOnce };
}

describe('pollConcurrently', () => {
  it('runs at most `concurrency` at once; a slow mailbox holds one slot while the others go on', async () => {
    const polls = controlledPolls();
    const done = pollConcurrently(['slow', 'a', 'b', 'c'], 2, polls.poll);
    await polls.settle();
    expect(polls.started).toEqual(['slow', 'a']);
    polls.finish.get('a')!('A');
    await polls.settle();
    expect(polls.started).toEqual(['slow', 'a', 'b']);
    polls.finish.get('b')!('B');
    await polls.settle();
    polls.finish.get('c')!('C');
    await polls.settle();
    expect(polls.started).toEqual(['slow', 'a', 'b', 'c']);
    polls.finish.get('slow')!('SLOW');
    // Results in the mailboxes' order, not in the order they finished.
    expect(await done).toEqual(['SLOW', 'A', 'B', 'C']);
    expect(polls.mostAtOnce()).toBe(2);
  });

  it(`without a concurrency, ${DEFAULT_MAILBOX_CONCURRENCY} at once; never fewer than one`, async () => {
    const names = ['1', '2', '3', '4', '5', '6'];
    const unbounded = controlledPolls();
    const all = pollConcurrently(names, undefined, unbounded.poll);
    await unbounded.settle();
    expect(unbounded.started).toHaveLength(DEFAULT_MAILBOX_CONCURRENCY);
    for (const name of names) {
      unbounded.finish.get(name)?.(name);
      await unbounded.settle();
    }
    expect(await all).toEqual(names);

    const zero = controlledPolls();
    const one = pollConcurrently(['x', 'y'], 0, zero.poll);
    await zero.settle();
    expect(zero.started).toEqual(['x']);
    zero.finish.get('x')!('x');
    await zero.settle();
    zero.finish.get('y')!('y');
    expect(await one).toEqual(['x', 'y']);
  });

  it('no mailboxes: no poll, no result', async () => {
    const polls = controlledPolls();
    expect(await pollConcurrently([], 3, polls.poll)).toEqual([]);
    expect(polls.started).toEqual([]);
  });
});
