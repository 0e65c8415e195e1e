/**
 * What a user of the package needs to fill PollPorts is exported by its entry point (lib/index.ts):
 * `stateStore` is a MailboxStateStore, whose `save` must reject with the package's own
 * StateConflictError for keep mode to tell a lost race from a failed store.
 */
import { describe, expect, it } from 'vitest';
import type { MailboxState, MailboxStateStore, PollPorts, VersionedState } from '../../lib/index.ts';
import * as api from '../../lib/index.ts';
import { StateConflictError as PortsStateConflictError } from '../../lib/ports.ts';

/** A store a user could write against the public types alone. */
class OneSlotStateStore implements MailboxStateStore {
  #saved: VersionedState | undefined;
  async load(): Promise<VersionedState | undefined> {
    return this.#saved;
  }
  async save(_mailboxId: string, state: MailboxState, expectedVersion: string | undefined): Promise<string> {
    if (expectedVersion !== this.#saved?.version) throw new api.StateConflictError('changed since loaded');
    const version = String(Number(expectedVersion ?? 0) + 1);
    this.#saved = { state, version };
    return version;
  }
}

describe('package entry point (lib/index.ts)', () => {
  it('exports the keep-mode state port and the errors its save rejects with', async () => {
    const stateStore: PollPorts['stateStore'] = new OneSlotStateStore();
    await expect(stateStore?.save('box', { messages: [] }, undefined)).resolves.toBe('1');
    const conflict = stateStore?.save('box', { messages: [] }, undefined);
    await expect(conflict).rejects.toBeInstanceOf(PortsStateConflictError);
    await expect(conflict).rejects.toHaveProperty('name', 'StateConflictError');
    expect(new api.StateTooLargeError('x').name).toBe('StateTooLargeError');
  });
});
