/**
 * Reads and validates the mailbox configuration (schema/config.schema.json, JSON Schema draft 2020-12)
 * and applies the defaults, producing the PollerConfig the rest of the code relies on.
 * See docs/configuration.md.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { OAuth2SecretRef, SecretRef } from '../ports.ts';
import { compileConfigValidator } from './config-validator.ts';
import { findJsonSyntaxProblem } from './json-syntax.ts';
import { type ProviderName, providerProfile } from './providers.ts';
import { configPath, describeSchemaErrors } from './schema-errors.ts';
import { secretSharingProblems } from './secret-sharing.ts';
import type {
  AuthMethod,
  InitialIngest,
  MailboxConfig,
  MailboxLimits,
  PollerConfig,
  TlsMode,
} from './types.ts';

/** RFC 1939 section 3: POP3 listens on TCP port 110 (plain text, or upgraded with STLS). */
export const POP3_PORT = 110;
/** RFC 8314 section 7.3: POP3 over implicit TLS on port 995. */
export const POP3S_PORT = 995;
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_LIMITS: MailboxLimits = {
  maxMessagesPerRun: 10_000,
  maxBytesPerRun: 1024 ** 3,
  maxMessageBytes: 100 * 1024 ** 2,
};

/** The configuration is invalid; `problems` has one "path: problem" line per mistake. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];

  constructor(problems: string[], source?: string) {
    super(`invalid configuration${source === undefined ? '' : ` in ${source}`}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/** A secret as written in the document. */
type SecretSpec = string | { env: string } | { secretId: string; field?: string };

/** The document as the schema guarantees it, before defaults. */
interface MailboxDocument {
  id: string;
  host: string;
  port?: number;
  tls: TlsMode;
  username: string;
  password?: SecretSpec;
  accessToken?: SecretSpec;
  oauth2?: OAuth2SecretRef;
  auth?: AuthMethod;
  ca?: string;
  caFile?: string;
  servername?: string;
  allowInsecureAuth?: boolean;
  pipelining?: boolean;
  provider?: ProviderName | 'auto';
  limits?: Partial<MailboxLimits>;
  keep?: boolean;
  deleteAfterDays?: number;
  initial?: InitialIngest;
  trustedAuthservId?: string | string[];
}

interface ConfigDocument {
  mailboxes: MailboxDocument[];
  defaults?: { limits?: Partial<MailboxLimits> };
  concurrency?: number;
}

let validator: ValidateFunction<ConfigDocument> | undefined;

/** Compiled once, on first use, so that importing this module costs nothing. */
function validate(json: unknown): json is ConfigDocument {
  if (validator === undefined) {
    validator = compileConfigValidator<ConfigDocument>();
  }
  return validator(json);
}

/** Validates a parsed JSON document and applies the defaults. Throws ConfigError listing every problem. */
export function parseConfig(json: unknown): PollerConfig {
  const valid = validate(json);
  const problems = valid ? [] : describeSchemaErrors(validator?.errors ?? []);
  problems.push(...duplicateIdProblems(json), ...unreadCaFileProblems(json));
  problems.push(...secretSharingProblems(json));
  if (!valid || problems.length > 0) throw new ConfigError(inDocumentOrder(problems));
  const defaultLimits = { ...DEFAULT_LIMITS, ...json.defaults?.limits };
  return {
    mailboxes: json.mailboxes.map((mailbox) => toMailboxConfig(mailbox, defaultLimits)),
    concurrency: json.concurrency ?? DEFAULT_CONCURRENCY,
  };
}

/** Reads a JSON config file. Syntax errors name the file, line and column, never the text there. */
export async function loadConfigFile(filePath: string): Promise<PollerConfig> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(await readFile(filePath));
  } catch (error) {
    const reason = error instanceof TypeError ? 'is not UTF-8 text' : `cannot be read (${errorCode(error)})`;
    throw new ConfigError([`${filePath}: ${reason}`], filePath);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError([describeSyntaxError(filePath, text)], filePath);
  }
  const caFileProblems = await readCaFiles(json, path.dirname(path.resolve(filePath)));
  let config: PollerConfig | undefined;
  let problems = caFileProblems;
  try {
    config = withSecretFilesBeside(parseConfig(json), path.dirname(filePath));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems = inDocumentOrder([...error.problems, ...caFileProblems]);
  }
  if (config === undefined || problems.length > 0) throw new ConfigError(problems, filePath);
  return config;
}

function toMailboxConfig(mailbox: MailboxDocument, defaultLimits: MailboxLimits): MailboxConfig {
  // The schema guarantees exactly one of the three.
  const secret = mailbox.accessToken ?? mailbox.password;
  return {
    id: mailbox.id,
    host: mailbox.host,
    port: mailbox.port ?? (mailbox.tls === 'implicit' ? POP3S_PORT : POP3_PORT),
    tls: mailbox.tls,
    username: mailbox.username,
    credential: secret === undefined ? { oauth2: mailbox.oauth2 as OAuth2SecretRef } : toSecretRef(secret),
    credentialKind: mailbox.password === undefined ? 'oauth2' : 'password',
    auth: mailbox.auth ?? 'auto',
    ca: mailbox.ca,
    servername: mailbox.servername,
    allowInsecureAuth: mailbox.allowInsecureAuth ?? false,
    pipelining: mailbox.pipelining ?? true,
    limits: { ...defaultLimits, ...mailbox.limits },
    ...(mailbox.keep
      ? { keep: { deleteAfterDays: mailbox.deleteAfterDays, initial: mailbox.initial ?? 'all' } }
      : {}),
    trustedAuthservId: listOf(mailbox.trustedAuthservId),
    profile: providerProfile(mailbox.provider ?? 'auto', mailbox.host),
  };
}

/** A relative OAuth2 secret file is relative to the config file that names it, not to the working folder. */
function withSecretFilesBeside(config: PollerConfig, folder: string): PollerConfig {
  const mailboxes = config.mailboxes.map((mailbox) => {
    const ref = mailbox.credential;
    if (!('oauth2' in ref) || !('file' in ref.oauth2.secret)) return mailbox;
    const file = path.resolve(folder, ref.oauth2.secret.file);
    return { ...mailbox, credential: { oauth2: { ...ref.oauth2, secret: { file } } } };
  });
  return { ...config, mailboxes };
}

/**
 * `caFile` is read here, once, relative to the configuration file's folder, and becomes `ca`: the rest of
 * the code sees only PEM text. An unreadable file, or one without a certificate, is a configuration error
 * naming the mailbox and the path. With `ca` also given the schema reports both, so the file is not read.
 */
async function readCaFiles(json: unknown, folder: string): Promise<string[]> {
  const mailboxes = (json as { mailboxes?: unknown } | null)?.mailboxes;
  if (!Array.isArray(mailboxes)) return [];
  const problems: string[] = [];
  await Promise.all(
    mailboxes.map(async (mailbox: unknown, index) => {
      if (mailbox === null || typeof mailbox !== 'object') return;
      const entry = mailbox as Record<string, unknown>;
      if (typeof entry.caFile !== 'string' || entry.caFile === '' || entry.ca !== undefined) return;
      const file = path.resolve(folder, entry.caFile);
      const where = `${configPath(`/mailboxes/${index}/caFile`)}${typeof entry.id === 'string' ? ` (mailbox "${entry.id}")` : ''}`;
      let pem: string;
      try {
        pem = await readFile(file, 'utf8');
      } catch (error) {
        problems.push(`${where}: cannot read ${file} (${errorCode(error)})`);
        delete entry.caFile;
        return;
      }
      delete entry.caFile;
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        problems.push(`${where}: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
        return;
      }
      entry.ca = pem;
    }),
  );
  return problems;
}

/**
 * A `caFile` left in the document was not read: the document did not come from a file (a deployed
 * configuration has no folder of its own), so the certificate must be inline.
 */
function unreadCaFileProblems(json: unknown): string[] {
  const mailboxes = (json as { mailboxes?: unknown } | null)?.mailboxes;
  if (!Array.isArray(mailboxes)) return [];
  return mailboxes.flatMap((mailbox: unknown, index) => {
    const entry = mailbox as Record<string, unknown> | null;
    if (entry === null || typeof entry !== 'object' || entry.caFile === undefined || entry.ca !== undefined)
      return [];
    return [
      `${configPath(`/mailboxes/${index}/caFile`)}: is read only from a configuration file given to the CLI; in a deployed configuration give the PEM text as "ca"`,
    ];
  });
}

/** A setting written as one string or a list of them, as a list (undefined when absent). */
function listOf(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? [value] : [...value];
}

function toSecretRef(secret: SecretSpec): SecretRef {
  if (typeof secret === 'string') return { literal: secret };
  if ('env' in secret) return { env: secret.env };
  return secret.field === undefined
    ? { secretId: secret.secretId }
    : { secretId: secret.secretId, field: secret.field };
}

/**
 * Mailbox ids name object keys and files, so they must be unique, and unique regardless of letter case:
 * on a case-insensitive file system `Support` and `support` would share a folder.
 */
function duplicateIdProblems(json: unknown): string[] {
  const mailboxes = (json as { mailboxes?: unknown } | null)?.mailboxes;
  if (!Array.isArray(mailboxes)) return [];
  const firstIndexById = new Map<string, number>();
  const problems: string[] = [];
  mailboxes.forEach((mailbox: unknown, index) => {
    const id = (mailbox as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = firstIndexById.get(id.toLowerCase());
    if (first === undefined) {
      firstIndexById.set(id.toLowerCase(), index);
    } else {
      const sameCase = (mailboxes[first] as { id: string }).id === id;
      const clash = sameCase ? 'is already the id of' : 'differs only in letter case from the id of';
      problems.push(`${configPath(`/mailboxes/${index}/id`)}: ${clash} mailboxes[${first}]`);
    }
  });
  return problems;
}

/** Problems of the document itself first, then mailbox by mailbox (a stable sort keeps the rest). */
function inDocumentOrder(problems: string[]): string[] {
  const mailboxIndex = (problem: string) => Number(/^mailboxes\[(\d+)\]/.exec(problem)?.[1] ?? -1);
  return problems.sort((a, b) => mailboxIndex(a) - mailboxIndex(b));
}

function describeSyntaxError(filePath: string, text: string): string {
  try {
    const found = findJsonSyntaxProblem(text);
    if (found !== undefined) return `${filePath}:${found.line}:${found.column}: ${found.problem}`;
  } catch {
    // Nesting deep enough to exhaust the stack: fall through to the general message.
  }
  return `${filePath}: is not valid JSON`;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
}
