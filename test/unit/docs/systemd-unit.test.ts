/**
 * docs/systemd/mailbox-poller.service keeps what the service writes for its user (mail, notifications,
 * state, locks), and stays a unit systemd accepts (checked with `systemd-analyze verify` where installed).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const UNIT_FILE = new URL('../../../docs/systemd/mailbox-poller.service', import.meta.url);
const unit = readFileSync(UNIT_FILE, 'utf8');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

/** The settings of one section, each key with every value it is given (in order). */
function section(name: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let inside = false;
  for (const line of unit.split('\n')) {
    if (line.startsWith('[')) inside = line === `[${name}]`;
    else if (inside && !line.startsWith('#') && line.includes('=')) {
      const at = line.indexOf('=');
      const key = line.slice(0, at);
      settings.set(key, [...(settings.get(key) ?? []), line.slice(at + 1)]);
    }
  }
  return settings;
}

describe('docs/systemd/mailbox-poller.service', () => {
  it('writes for its user only (UMask=0077, state folder 0700) and passes systemd-analyze verify', async () => {
    const service = section('Service');
    expect(service.get('UMask')).toEqual(['0077']);
    expect(service.get('StateDirectoryMode')).toEqual(['0700']);
    // The lock folder lies in the service's own state folder, which only its user can write.
    const [stateDirectory] = service.get('StateDirectory') ?? [];
    expect(service.get('Environment')).toContain(`MAILBOX_POLLER_LOCK_DIR=/var/lib/${stateDirectory}/locks`);

    if (!existsSync(SYSTEMD_ANALYZE)) return;
    const dir = await mkdtemp(path.join(tmpdir(), 'systemd-unit-'));
    try {
      // verify checks that ExecStart's program exists: point it at one that does.
      const file = path.join(dir, 'mailbox-poller.service');
      await writeFile(file, unit.replaceAll('/usr/local/bin/mailbox-poller', '/bin/true'));
      const { stderr } = await promisify(execFile)(SYSTEMD_ANALYZE, ['verify', file]);
      expect(stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
