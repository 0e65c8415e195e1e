/**
 * `mailbox-poller secrets build`: turns a list of `mailbox-id<TAB>password` lines into the SecretString of a
 * fleet secret (lib/config/fleet-secret.ts), or into the input of `aws secretsmanager put-secret-value`.
 * The list comes from a file or stdin, never from the command line (argv is readable by every user of the
 * machine through ps and /proc); nothing is written but stdout, so the secret can be piped straight on:
 *
 *   mailbox-poller secrets build --secret-id pop3-fleet-1 --format put-secret-value < list.tsv \
 *     | aws secretsmanager put-secret-value --cli-input-json file:///dev/stdin
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { SECRETS_MANAGER_MAX_SECRET_BYTES } from '../aws-limits.ts';
import {
  buildFleetSecret,
  FleetSecretInputError,
  FleetSecretTooLargeError,
  parseFleetList,
} from '../config/fleet-secret.ts';
import { usageProblem } from './args.ts';
import type { CliIo } from './io.ts';
import { usageErrorText } from './usage-line.ts';

export const SECRETS_USAGE = `Usage: mailbox-poller secrets build [--from FILE] [--format json|put-secret-value] [--secret-id ID]

Builds one Secrets Manager secret holding the passwords of many mailboxes: a JSON object with one field per
mailbox id. Reads "mailbox-id<TAB>password" lines from FILE, or from stdin without --from (or with "-");
the password is everything after the first tab. Empty lines and lines starting with # are skipped.
Passwords are never taken from the command line.

  --format json              the SecretString (default)
  --format put-secret-value  input for: aws secretsmanager put-secret-value --cli-input-json file:///dev/stdin
                             (needs --secret-id)
  --secret-id ID             the secret's name or ARN (also printed in the config references on stderr)

Each mailbox then names its field: "password": { "secretId": "ID", "field": "<mailbox id>" }.
Refuses a list whose secret would exceed ${SECRETS_MANAGER_MAX_SECRET_BYTES} bytes and says how to split it.
Exit status: 0 built, 1 the list cannot be used or is too large, 2 usage error.`;

type Format = 'json' | 'put-secret-value';

interface BuildOptions {
  readonly from: string | undefined;
  readonly format: Format;
  readonly secretId: string | undefined;
}

/** Reads all of stdin; a parameter so tests and other callers can feed the list. */
export type ReadInput = () => Promise<Uint8Array>;

const readStdin: ReadInput = async () => {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/**
 * The list as text, refusing bytes that are not UTF-8: a lenient decoder would turn them into U+FFFD and
 * store a password that differs from the one the server knows. A leading byte order mark is dropped.
 */
function utf8Text(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

export async function secretsMain(
  argv: readonly string[],
  io: CliIo,
  readInput: ReadInput = readStdin,
): Promise<number> {
  let options: BuildOptions;
  try {
    options = parseBuildArgs(argv);
  } catch (error) {
    io.stderr.write(usageErrorText('secrets build', usageProblem(error, SECRETS_USAGE)));
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes =
      options.from === undefined || options.from === '-' ? await readInput() : await readFile(options.from);
  } catch (error) {
    io.stderr.write(`mailbox-poller: cannot read ${options.from ?? 'stdin'}: ${(error as Error).message}\n`);
    return 1;
  }
  let text: string;
  try {
    text = utf8Text(bytes);
  } catch {
    io.stderr.write(`mailbox-poller: ${options.from ?? 'stdin'} is not UTF-8 text; save the list as UTF-8\n`);
    return 1;
  }
  try {
    const entries = parseFleetList(text);
    const secret = buildFleetSecret(entries);
    const out =
      options.format === 'json'
        ? secret
        : JSON.stringify({ SecretId: options.secretId, SecretString: secret });
    io.stdout.write(`${out}\n`);
    const size = Buffer.byteLength(secret, 'utf8');
    const id = options.secretId ?? 'SECRET-ID';
    io.stderr.write(
      `${entries.length} mailboxes, ${size} of ${SECRETS_MANAGER_MAX_SECRET_BYTES} bytes.` +
        ` Reference each as "password": { "secretId": ${JSON.stringify(id)}, "field": "<mailbox id>" }\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof FleetSecretInputError || error instanceof FleetSecretTooLargeError) {
      io.stderr.write(`mailbox-poller: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function parseBuildArgs(argv: readonly string[]): BuildOptions {
  if (argv[0] !== 'build')
    throw new Error(`unknown secrets command ${argv[0] ?? '(none)'}; the one there is: build`);
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
    strict: true,
    allowPositionals: true,
    options: { from: { type: 'string' }, format: { type: 'string' }, 'secret-id': { type: 'string' } },
  });
  // Not echoed: a stray argument may well be a password typed on the command line.
  if (positionals.length > 0) {
    throw new Error(
      `${positionals.length} argument(s) besides the options; passwords are read from --from FILE or stdin, never from the command line`,
    );
  }
  const format = values.format ?? 'json';
  if (format !== 'json' && format !== 'put-secret-value') {
    throw new Error(`--format is json or put-secret-value, not "${format}"`);
  }
  const secretId = values['secret-id'];
  if (format === 'put-secret-value' && secretId === undefined) {
    throw new Error('--format put-secret-value needs --secret-id');
  }
  return { from: values.from, format, secretId };
}
