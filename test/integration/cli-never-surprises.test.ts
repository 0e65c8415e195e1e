/**
 * The CLI as shipped (the bundle scripts/build.mjs builds, in its own `node`) where a new user met a
 * surprise: each command's help, one-line usage errors, the --timeout messages, a password variable set
 * but empty or written as "$NAME", what local output puts in a notification's bucketName and what a dry
 * run says it wrote, and outcome messages that are one line even when OpenSSL's text is not.
 */
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltCli, buildCliBundle, type CliRun, runBuiltCli } from '../support/cli-bundle.ts';
import { type MemoryPop3Server, startMemoryPop3Server } from '../support/memory-pop3-server.ts';

const PASSWORD = 'surprise-password-5521';
const MESSAGE = Buffer.from('From: a@example.com\r\nSubject: hello\r\n\r\nbody\r\n');

let cli: BuiltCli;
let server: MemoryPop3Server;

beforeAll(async () => {
  [cli, server] = await Promise.all([
    buildCliBundle('cli-never-surprises-'),
    startMemoryPop3Server({ users: [{ name: 'alice', password: PASSWORD, messages: [MESSAGE] }] }),
  ]);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await cli?.remove();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runBuiltCli(cli.runner, args, {
    cwd: cli.dir,
    env: { PATH: process.env.PATH ?? '', MAILBOX_POLLER_LOCK_DIR: path.join(cli.dir, 'locks'), ...env },
  });
}

async function configWith(mailbox: Record<string, unknown>): Promise<string> {
  const file = path.join(cli.dir, `config-${Math.random().toString(36).slice(2)}.json`);
  const defaults = { id: 'support', host: server.host, port: server.port, tls: 'none' };
  const config = { mailboxes: [{ ...defaults, username: 'alice', allowInsecureAuth: true, ...mailbox }] };
  await writeFile(file, JSON.stringify(config));
  return file;
}

describe('help (item 8)', () => {
  it.each([
    [['check', '--help'], /^Usage: mailbox-poller check --config FILE/],
    [['oauth', 'login', '--help'], /^Usage: mailbox-poller oauth login --provider/],
    [['status', '--help'], /^Usage: mailbox-poller status/],
    [['reset', '-h'], /^Usage: mailbox-poller reset MAILBOX/],
    [['secrets', 'build', '--help'], /^Usage: mailbox-poller secrets build/],
    [['poll', '--help'], /^Usage: mailbox-poller poll --config FILE/],
    [['help', 'check'], /^Usage: mailbox-poller check --config FILE/],
    [['secrets', '--help'], /^Usage: mailbox-poller secrets build/],
    [['demo', '--help'], /^Usage: mailbox-poller demo/],
  ])('%j prints that command’s own help on stdout, exit 0', async (argv, usage) => {
    const result = await run(argv);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(usage);
  });

  it('--help lists every command', async () => {
    const { status, stdout } = await run(['--help']);
    expect(status).toBe(0);
    for (const command of ['poll', 'check', 'status', 'reset', 'oauth login', 'secrets build', 'demo']) {
      expect(stdout).toMatch(new RegExp(`^  ${command} +\\S`, 'm'));
    }
  });

  it('no command: one line naming the commands and where the help is, exit 2', async () => {
    const { status, stdout, stderr } = await run([]);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).not.toContain('missing command: poll');
    expect(stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^mailbox-poller: missing command \(poll, check, status, reset, oauth login/),
      "See 'mailbox-poller --help'.",
    ]);
  });

  it.each([
    [['check', '--mailbox', 'x'], 'check', /--config FILE is required/],
    [['oauth', 'login', '--frobnicate'], 'oauth login', /^mailbox-poller: unknown option --frobnicate$/],
    [['status', '--wat'], 'status', /^mailbox-poller: unknown option --wat$/],
    [['poll', '--config'], 'poll', /^mailbox-poller: --config needs a value$/],
    [['demo', '--wat'], 'demo', /^mailbox-poller: unknown option --wat$/],
  ])('%j: a usage error is one line and a pointer to its --help', async (argv, command, problem) => {
    const { status, stderr } = await run(argv);
    expect(status).toBe(2);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(problem);
    expect(lines[1]).toBe(`See 'mailbox-poller ${command} --help'.`);
  });
});

describe('option and variable mistakes (item 9)', () => {
  it.each([['abc'], ['-5'], ['1.5']])('--timeout %s says what it takes, as the help does', async (value) => {
    const { status, stderr } = await run(['poll', '--config', 'x.json', '--timeout', value]);
    expect(status).toBe(2);
    expect(stderr.split('\n')[0]).toBe(
      `mailbox-poller: --timeout needs a whole number of seconds, 0 for none, not "${value}"`,
    );
  });

  it('a password variable set but empty is reported as empty, not as unset', async () => {
    const config = await configWith({ password: { env: 'SUPPORT_PASSWORD' } });
    const { status, stderr } = await run(['poll', '--config', config, '--out', 'out-empty'], {
      SUPPORT_PASSWORD: '',
    });
    expect(status).toBe(2);
    expect(stderr).toContain('environment variable SUPPORT_PASSWORD, which is set but empty');
    expect(stderr).not.toContain('not set');
  });

  it('"password": "$NAME" warns on stderr, naming the mailbox and the { "env": … } form', async () => {
    const config = await configWith({ password: '$SUPPORT_PASSWORD' });
    const { stderr } = await run(['poll', '--config', config, '--out', 'out-literal', '-q']);
    expect(stderr).toContain(
      'mailbox-poller: warning: mailbox "support": its password is the text "$SUPPORT_PASSWORD", sent as is;',
    );
    expect(stderr).toContain('"password": { "env": "SUPPORT_PASSWORD" }');
  });
});

describe('local output (item 6)', () => {
  it('a dry run says it wrote nothing, not "Destination:"', async () => {
    const config = await configWith({ password: PASSWORD });
    const { status, stdout } = await run(['poll', '--config', config, '--out', 'out-dry', '--dry-run']);
    expect(status).toBe(0);
    expect(stdout).not.toMatch(/^Destination:/m);
    expect(stdout).toMatch(/^Nothing written \(dry run\); a real run writes to .*out-dry/m);
  });

  it('bucketName is the absolute --out folder: <bucketName>/<objectKey> is the message, byte for byte', async () => {
    const config = await configWith({ password: PASSWORD });
    const { status } = await run(['poll', '--config', config, '--out', 'out-real']);
    expect(status).toBe(0);
    const line = await readFile(path.join(cli.dir, 'out-real', 'notifications.jsonl'), 'utf8');
    const { bucketName, objectKey } = JSON.parse(line.trim()).receipt.action;
    expect(bucketName).toBe(path.join(cli.dir, 'out-real'));
    expect(await readFile(path.join(bucketName, objectKey))).toEqual(MESSAGE);
    const docs = await readFile(new URL('../../docs/notification.md', import.meta.url), 'utf8');
    expect(docs).toContain('`bucketName` is the absolute path of the `--out` folder');
  });
});

describe('one line per message (item 15)', () => {
  it('tls: implicit against a plain port: the OpenSSL text is one line, with the hint', async () => {
    const plain = net.createServer((socket) => {
      // The client gives up with a TLS alert or a reset: not this test's concern.
      socket.on('error', () => undefined);
      socket.end('+OK plain POP3 here\r\n');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      const config = await configWith({ host: '127.0.0.1', port, tls: 'implicit', password: PASSWORD });
      const { status, stderr } = await run(['poll', '--config', config, '--out', 'out-tls']);
      expect(status).toBe(1);
      const lines = stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^mailbox-poller: support: failed \(tls\): .*answered without TLS/);
    } finally {
      plain.close();
    }
  });
});
