/**
 * `mailbox-poller secrets build` in process (lib/cli/secrets-build.ts): what it reads and refuses. The
 * built CLI is run in test/integration/fleet-secret-bundles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../lib/cli/io.ts';
import { secretsMain } from '../../../lib/cli/secrets-build.ts';

async function run(argv: string[], input: Uint8Array) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => stdout.push(text), isTTY: false },
    stderr: { write: (text: string) => stderr.push(text), isTTY: false },
    env: {},
  };
  const status = await secretsMain(argv, io, async () => input);
  return { status, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('secrets build', () => {
  it('a list that is not UTF-8 is refused, not stored with replacement characters', async () => {
    const latin1 = Buffer.from('support\tpässword\n', 'latin1');
    const result = await run(['build'], latin1);
    expect(result).toMatchObject({ status: 1, stdout: '' });
    expect(result.stderr).toContain('stdin is not UTF-8 text');
  });

  it('a byte order mark at the start (Windows editors) is not part of the first mailbox id', async () => {
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('support\tpässword\n')]);
    const result = await run(['build'], withBom);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ support: 'pässword' });
  });

  it('put-secret-value input needs the secret id; unknown formats and commands are usage errors', async () => {
    const list = Buffer.from('a\tb\n');
    expect((await run(['build', '--format', 'put-secret-value'], list)).status).toBe(2);
    expect((await run(['build', '--format', 'yaml'], list)).status).toBe(2);
    expect((await run(['make'], list)).status).toBe(2);
    const input = await run(['build', '--format', 'put-secret-value', '--secret-id', 'arn:aws:x'], list);
    expect(JSON.parse(input.stdout)).toEqual({ SecretId: 'arn:aws:x', SecretString: '{"a":"b"}' });
  });
});
