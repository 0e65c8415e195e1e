/**
 * `mailbox-poller poll --config FILE ...`: polls every configured mailbox once. Without a bucket and a
 * queue it uses the local default (objects as files, notifications.jsonl) so it runs with no AWS account.
 */
import path from 'node:path';
import { awsPorts } from '../adapters/aws-ports.ts';
import { coalesceReads } from '../adapters/coalescing-secret-source.ts';
import { ConfigCredentialsProvider } from '../adapters/credentials.ts';
import { LocalHealthStore } from '../adapters/local-health-store.ts';
import { LocalMessageStore } from '../adapters/local-message-store.ts';
import { LocalNotifier } from '../adapters/local-notifier.ts';
import { LocalStateStore } from '../adapters/local-state-store.ts';
import { createS3Client } from '../adapters/s3-client.ts';
import { secretMaterialOf } from '../adapters/secret-material.ts';
import { SecretsManagerSource } from '../adapters/secrets-manager-source.ts';
import { createSqsClient } from '../adapters/sqs-notifier.ts';
import { ConfigError, loadConfigFile } from '../config/load-config.ts';
import type { PollerConfig } from '../config/types.ts';
import { Deadline } from '../deadline.ts';
import { breakerPolicyFromEnv } from '../health/breaker.ts';
import type { MailboxOutcome } from '../pipeline/outcome.ts';
import { systemClock } from '../ports.ts';
import { MISSING_COMMAND, type PollCommand, parseCommandLine, UsageError } from './args.ts';
import { checkMain } from './check.ts';
import { demoMain } from './demo.ts';
import { HealthWarnings } from './health-options.ts';
import { COMMANDS, commandOf, helpRequested, topUsage } from './help.ts';
import { type CliIo, processIo } from './io.ts';
import { formatMessageEvent, MessageOrder, traceWriter } from './live-log.ts';
import { defaultLockDir } from './mailbox-lock.ts';
import { oauthLoginMain } from './oauth-login.ts';
import { literalVariableWarnings, unsetPasswordVariables } from './password-variables.ts';
import { type LockedPollPorts, pollMailboxesLocked } from './poll-locked.ts';
import { replayMain } from './replay.ts';
import { formatProblems, formatSummary, ProgressLine } from './report.ts';
import { resetMain } from './reset.ts';
import { secretsMain } from './secrets-build.ts';
import { statusMain } from './status.ts';
import { usageErrorText } from './usage-line.ts';

/** The package version, put in by scripts/build.mjs (esbuild `define`); absent when run from the sources. */
declare const MAILBOX_POLLER_VERSION: string | undefined;
export const VERSION = typeof MAILBOX_POLLER_VERSION === 'string' ? MAILBOX_POLLER_VERSION : 'development';
/**
 * Exit status when the only thing that kept the run from ending ok is that another run was polling some
 * mailboxes (reason `locked`): EX_TEMPFAIL from sysexits.h, "try again later", so cron wrappers and
 * systemd can tell it from a failure.
 */
export const EXIT_LOCKED = 75;

/**
 * Runs the CLI; resolves with the exit status: 0 when every message found was committed or left by rule
 * (size limit, per-run limits), 1 when any mailbox did not end 'ok', 2 for a usage or configuration error,
 * EXIT_LOCKED (75) when the only mailboxes not ok were being polled by another run.
 * stdout carries the summary only (with --json, only JSON); every failure and warning goes to stderr.
 */
/** The commands that parse their own options; anything else is `poll` (lib/cli/args.ts). */
const SUB_COMMANDS: ReadonlyMap<string, (args: readonly string[], io: CliIo) => Promise<number>> = new Map([
  ['oauth', oauthLoginMain],
  ['check', checkMain],
  ['secrets', secretsMain],
  ['status', statusMain],
  ['reset', resetMain],
  ['demo', (args: readonly string[], io: CliIo) => demoMain(args, io, main)],
  ['replay', replayMain],
  // The MIME parser is loaded for `parse` alone: a poll does not evaluate it at start.
  ['parse', async (args: readonly string[], io: CliIo) => (await import('./parse.ts')).parseMain(args, io)],
]);

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // Each command's help, before anything parses (lib/cli/help.ts).
  const help = helpRequested(argv);
  if (help !== undefined) {
    io.stdout.write(`${help}\n`);
    return 0;
  }
  const subCommand = argv[0] === undefined ? undefined : SUB_COMMANDS.get(argv[0]);
  if (subCommand !== undefined) return subCommand(argv.slice(1), io);
  const invocation = await pollInvocation(argv, io);
  return typeof invocation === 'number' ? invocation : poll(invocation, io);
}

interface PollInvocation {
  readonly command: PollCommand;
  readonly config: PollerConfig;
}

/** The poll command's line and configuration, or the exit status when they end the run (help, mistakes). */
async function pollInvocation(argv: readonly string[], io: CliIo): Promise<PollInvocation | number> {
  try {
    const parsed = parseCommandLine(argv, io.env);
    if (parsed.kind === 'help') {
      io.stdout.write(`${topUsage()}\n`);
      return 0;
    }
    if (parsed.kind === 'version') {
      io.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const command = parsed.poll;
    const config = await loadConfigFile(command.configPath);
    io.stderr.write(literalVariableWarnings(config.mailboxes));
    const unset = unsetPasswordVariables(config.mailboxes, io.env);
    if (unset.length > 0) {
      io.stderr.write(`mailbox-poller: configuration error in ${command.configPath}:\n${unset.join('\n')}\n`);
      return 2;
    }
    return { command, config };
  } catch (error) {
    if (error instanceof UsageError) {
      const problem =
        error.message === MISSING_COMMAND
          ? `${MISSING_COMMAND} (${COMMANDS.map(({ name }) => name).join(', ')})`
          : error.message;
      io.stderr.write(usageErrorText(commandOf(argv)?.name, problem));
      return 2;
    }
    if (error instanceof ConfigError) {
      // "invalid configuration in FILE:" then one "path: problem" line per mistake.
      io.stderr.write(`mailbox-poller: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`mailbox-poller: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
}

/** The poll itself: ports, lock, poll, report, exit status, in the order a run happens. */
async function poll({ command, config }: PollInvocation, io: CliIo): Promise<number> {
  const { ports, destination } = portsFor(command, io.env);
  const quiet = command.verbosity === 'quiet';
  // The live progress line would be torn by the per-message and trace lines: only one of them at a time.
  const progress = new ProgressLine(
    quiet || command.verbosity === 'verbose' || command.trace ? { write: () => undefined } : io.stderr,
  );
  const deadline = command.timeoutMs === undefined ? Deadline.never() : Deadline.after(command.timeoutMs);
  const healthWarnings = new HealthWarnings();
  const messageOrder = new MessageOrder((event) => io.stderr.write(formatMessageEvent(event)));
  const outcomes = await pollMailboxesLocked(config.mailboxes, ports, deadline, {
    concurrency: command.concurrency ?? config.concurrency,
    dryRun: command.dryRun,
    force: command.force,
    breaker: breakerPolicyFromEnv(io.env),
    logger: healthWarnings.logger,
    onProgress: (p) => {
      if (p.planned !== undefined) messageOrder.expect(p.mailboxId, p.planned.msgs);
      progress.update(p);
    },
    ...(command.verbosity === 'verbose' ? { onMessage: (event) => messageOrder.add(event) } : {}),
    ...(command.trace ? { onTrace: traceWriter(io.stderr) } : {}),
    lockDir: defaultLockDir(io.env),
    waitLockMs: command.waitLockMs,
  });
  progress.clear();
  messageOrder.flush();
  io.stderr.write(formatProblems(quiet ? withoutRuleSkips(outcomes) : outcomes));
  io.stderr.write(healthWarnings.text(outcomes));
  if (command.json) io.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
  else if (!quiet) io.stdout.write(formatSummary(outcomes, destination, command.dryRun));
  return exitStatus(outcomes);
}

function exitStatus(outcomes: readonly MailboxOutcome[]): number {
  const notOk = outcomes.filter((outcome) => outcome.status !== 'ok');
  if (notOk.length === 0) return 0;
  return notOk.every((outcome) => outcome.reason === 'locked') ? EXIT_LOCKED : 1;
}

/** --quiet: errors only; a message left by rule (oversized) is not one. */
function withoutRuleSkips(outcomes: readonly MailboxOutcome[]): MailboxOutcome[] {
  return outcomes.map((outcome) => ({
    ...outcome,
    skipped: outcome.skipped.filter((skip) => skip.reason !== 'oversized'),
  }));
}

function portsFor(
  command: PollCommand,
  env: NodeJS.ProcessEnv,
): { ports: LockedPollPorts; destination: string } {
  // Secrets Manager is only contacted when a mailbox names a secretId.
  // OAuth2 tokens are renewed before login when they would lapse before the run's deadline.
  const runEndsAtMs = Date.now() + (command.timeoutMs ?? 0);
  const credentials = new ConfigCredentialsProvider({
    secretSource: coalesceReads(new SecretsManagerSource()),
    env,
    tokenValidUntil: () => runEndsAtMs,
  });
  if (command.bucket !== undefined) {
    const targets = [command.queueUrl, command.eventBus && `EventBridge ${command.eventBus}`];
    return {
      ports: awsPorts({
        s3: createS3Client(),
        sqs: createSqsClient(),
        bucket: command.bucket,
        keyPrefix: command.keyPrefix,
        queueUrl: command.queueUrl,
        eventBus: command.eventBus,
        credentials,
        onWarning: (warning) => process.stderr.write(`mailbox-poller: warning: ${warning}\n`),
      }),
      destination: [`s3://${command.bucket}/${command.keyPrefix}`, ...targets.filter(Boolean)].join(' + '),
    };
  }
  const outDir = path.resolve(command.outDir);
  return {
    ports: {
      store: new LocalMessageStore({ outDir, keyPrefix: command.keyPrefix }),
      notifier: new LocalNotifier({ outDir }),
      credentials,
      clock: systemClock,
      stateStore: new LocalStateStore({ outDir, keyPrefix: command.keyPrefix }),
      healthStore: new LocalHealthStore({ outDir, keyPrefix: command.keyPrefix }),
      secretMaterial: secretMaterialOf(credentials),
    },
    destination: `${outDir} (objects) + ${path.join(outDir, 'notifications.jsonl')}`,
  };
}
