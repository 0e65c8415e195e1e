/**
 * `mailbox-poller check --config FILE [--mailbox ID]`: walks one connection step by step — DNS, TCP, TLS
 * (chain, expiry, name), greeting, CAPA and SASL mechanisms, credentials (an OAuth2 token's decoded claims,
 * never the token), login, STAT — and prints each step ok or failed with a hint for who must do what.
 * It never retrieves or deletes: after STAT it sends QUIT with no message marked.
 *
 * Each mailbox is checked under the same lock as a poll of it (lib/cli/mailbox-lock.ts): the credentials
 * step may spend a refresh token, and a poll renewing the same one at that moment would present a token
 * the other already retired; an endpoint with reuse detection (RFC 9700 §4.14.2) then revokes the grant.
 */
import { lookup } from 'node:dns/promises';
import { parseArgs } from 'node:util';
import { ConfigCredentialsProvider } from '../adapters/credentials.ts';
import { SecretsManagerSource } from '../adapters/secrets-manager-source.ts';
import { loadConfigFile } from '../config/load-config.ts';
import type { MailboxConfig } from '../config/types.ts';
import { Deadline } from '../deadline.ts';
import { classifyFailure, oneLine } from '../pipeline/classify-failure.ts';
import { connectionOptions } from '../pipeline/client-options.ts';
import { type ConnectionContext, connectionHint } from '../pipeline/connection-hints.ts';
import { Pop3Client } from '../pop3-client/client.ts';
import type { Credentials } from '../ports.ts';
import { usageProblem } from './args.ts';
import { underMailboxLock } from './check-lock.ts';
import { STEP_TIMEOUT_MS, tcpConnect, tlsCheck, tlsHint } from './check-steps.ts';
import type { CliIo, Report } from './io.ts';
import { defaultLockDir } from './mailbox-lock.ts';
import { literalVariableWarnings } from './password-variables.ts';
import { usageErrorText } from './usage-line.ts';

export const CHECK_USAGE = `Usage: mailbox-poller check --config FILE [--mailbox ID] [--wait-lock SECONDS]

Checks each mailbox (or only ID) step by step: DNS, TCP, TLS, greeting, CAPA and SASL mechanisms,
credentials (OAuth2: the token's decoded claims), login, STAT. Never retrieves or deletes anything.
A mailbox another run is polling is not checked (it holds the mailbox's lock); --wait-lock SECONDS
waits that long for it (default 0).
Exit status: 0 every step of every mailbox passed, 1 a step failed, 2 usage or configuration error.`;

export async function checkMain(argv: readonly string[], io: CliIo): Promise<number> {
  let values: { config?: string; mailbox?: string; 'wait-lock'?: string };
  let waitLockMs: number;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: { config: { type: 'string' }, mailbox: { type: 'string' }, 'wait-lock': { type: 'string' } },
    }));
    if (!values.config) throw new Error('--config FILE is required');
    waitLockMs = waitLockSeconds(values['wait-lock']) * 1000;
  } catch (error) {
    io.stderr.write(usageErrorText('check', usageProblem(error, CHECK_USAGE)));
    return 2;
  }
  let mailboxes: readonly MailboxConfig[];
  try {
    mailboxes = (await loadConfigFile(values.config)).mailboxes;
    io.stderr.write(literalVariableWarnings(mailboxes));
  } catch (error) {
    io.stderr.write(`mailbox-poller: ${(error as Error).message}\n`);
    return 2;
  }
  const chosen = values.mailbox === undefined ? mailboxes : mailboxes.filter((m) => m.id === values.mailbox);
  if (chosen.length === 0) {
    io.stderr.write(`mailbox-poller: no mailbox "${values.mailbox}" in ${values.config}\n`);
    return 2;
  }
  const credentials = new ConfigCredentialsProvider({
    secretSource: new SecretsManagerSource(),
    env: io.env,
    tokenValidUntil: () => Date.now() + STEP_TIMEOUT_MS,
  });
  const lock = { dir: defaultLockDir(io.env), waitMs: waitLockMs };
  let allPassed = true;
  for (const mailbox of chosen) {
    io.stdout.write(`mailbox ${mailbox.id} (${mailbox.host}:${mailbox.port}, tls ${mailbox.tls})\n`);
    const report: Report = (line) => io.stdout.write(`  ${line}\n`);
    const passed = await underMailboxLock(mailbox, lock, report, () =>
      checkMailbox(mailbox, credentials, report),
    );
    allPassed = passed && allPassed;
  }
  return allPassed ? 0 : 1;
}

function waitLockSeconds(text: string | undefined): number {
  if (text === undefined) return 0;
  if (!/^\d{1,6}$/.test(text)) throw new Error('--wait-lock takes a whole number of seconds');
  return Number(text);
}

/**
 * Runs one step and reports it. A failure is described as `poll` describes it (lib/pipeline/
 * connection-hints.ts, the classification both share): the same words for the same mistake, one line
 * (OpenSSL's texts carry line breaks), and the shared hint where there is one; the step's own hint
 * otherwise.
 */
async function step<T>(
  report: Report,
  name: string,
  run: () => Promise<[T, string]>,
  hint: (error: unknown) => string,
  context?: ConnectionContext,
): Promise<T | undefined> {
  try {
    const [value, detail] = await run();
    report(`ok      ${name}: ${detail}`);
    return value;
  } catch (error) {
    const shared = context === undefined ? undefined : connectionHint(error, context);
    const message = shared?.message ?? (error instanceof Error ? error.message : String(error));
    report(`FAILED  ${name}: ${oneLine(message)}`);
    report(`        hint: ${shared?.hint ?? hint(error)}`);
    return undefined;
  }
}

async function checkMailbox(
  mailbox: MailboxConfig,
  provider: ConfigCredentialsProvider,
  report: Report,
): Promise<boolean> {
  const before: ConnectionContext = { tls: mailbox.tls, port: mailbox.port, connected: false };
  const address = await step(
    report,
    'DNS',
    async () => {
      const found = await lookup(mailbox.host, { all: true });
      return [found[0]?.address, found.map((a) => a.address).join(', ')];
    },
    () => 'check the host name in the config',
    before,
  );
  if (address === undefined) return false;

  const tcp = await step(
    report,
    'TCP',
    () => tcpConnect(mailbox.host, mailbox.port),
    () =>
      `nothing accepts connections on port ${mailbox.port}: check the port (995 implicit TLS, 110 starttls/none) and any firewall`,
    before,
  );
  if (tcp === undefined) return false;

  if (mailbox.tls === 'implicit') {
    const tls = await step(report, 'TLS', () => tlsCheck(mailbox), tlsHint, before);
    if (tls === undefined) return false;
  } else {
    report(`ok      TLS: ${mailbox.tls === 'starttls' ? 'checked during STLS below' : 'none (tls "none")'}`);
  }

  const deadline = Deadline.after(STEP_TIMEOUT_MS * 4);
  const client = await step(
    report,
    'greeting',
    async () => {
      // As a poll connects (lib/pipeline/client-options.ts); one command at a time, each step its own.
      const connected = await Pop3Client.connect({
        ...connectionOptions(mailbox, deadline),
        pipelining: false,
      });
      return [connected, `${connected.server}${connected.encrypted ? ', encrypted' : ''}`];
    },
    () => 'the server did not greet as a POP3 server: check port and TLS mode',
    before,
  );
  if (client === undefined) return false;
  try {
    const capabilities = client.capabilities;
    report(
      `ok      CAPA: SASL ${capabilities.sasl.join(' ') || '(none)'}${capabilities.user ? ', USER' : ''}`,
    );
    const secret = await step(
      report,
      mailbox.credentialKind === 'oauth2' ? 'token' : 'credentials',
      async () => {
        const resolved: Credentials = await provider.resolve(
          mailbox.credential,
          mailbox.username,
          mailbox.credentialKind,
        );
        return [
          resolved,
          resolved.kind === 'oauth2'
            ? (resolved.tokenDescription ?? 'access token resolved')
            : 'password resolved (not shown)',
        ];
      },
      credentialsHint,
      { ...before, connected: true },
    );
    if (secret === undefined) return false;
    const loggedIn = await step(
      report,
      'login',
      async () => {
        await client.login(secret, mailbox.auth);
        return [true, `as ${mailbox.username} with ${client.mechanism}`];
      },
      () => loginHint(secret),
    );
    if (loggedIn === undefined) return false;
    const stat = await step(
      report,
      'STAT',
      async () => {
        const { count, octets } = await client.stat();
        return [true, `${count} messages, ${octets} octets`];
      },
      () => 'the server refused STAT after login: read its text above',
    );
    return stat !== undefined;
  } finally {
    // No DELE was sent, so QUIT removes nothing (and nothing was retrieved, so EXPIRE 0 removes nothing).
    await client.quit().catch(() => client.abort());
  }
}

function credentialsHint(error: unknown): string {
  const { reason } = classifyFailure(error);
  if (reason === 'auth-revoked')
    return 'a person must act: run mailbox-poller oauth login again, renew the client secret, or grant admin consent (docs/oauth2.md)';
  if (reason === 'token-endpoint') return 'the token endpoint is down or throttling: try again later';
  return 'fix the secret reference or the credential document (docs/configuration.md, docs/oauth2.md)';
}

function loginHint(credentials: Credentials): string {
  if (credentials.kind !== 'oauth2') return 'the server refused the password: check username and secret';
  return (
    'the server refused a freshly issued token: compare the claims above with what it needs — the scope or ' +
    'role (Microsoft app-only: POP.AccessAsApp with admin consent; Google: https://mail.google.com/), the ' +
    'audience (https://outlook.office365.com), the tenant; Microsoft app-only also needs New-ServicePrincipal ' +
    'with the Enterprise application object id and Add-MailboxPermission for this mailbox (docs/oauth2.md)'
  );
}
