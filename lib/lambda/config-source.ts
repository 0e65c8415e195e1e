/**
 * Where the deployed mailbox list lives, and how both functions read it. Two places, chosen by environment:
 * - S3 object (`CONFIG_BUCKET` + `CONFIG_KEY`): no size limit; the choice for long mailbox lists.
 * - SSM parameter (`CONFIG_PARAMETER`): at most 4 KB (standard tier) or 8 KB (advanced tier); what the
 *   construct uses for an inline `mailboxes` list.
 *
 * The dispatch function and the poll function read the same document. Its version is the SHA-256 of its
 * text: the dispatcher puts the version it read into every job, and the poll function re-reads the
 * document whenever a job names a version other than the one it has cached.
 */
import { createHash } from 'node:crypto';
import { findJsonSyntaxProblem } from '../config/json-syntax.ts';
import { ENV_NAMES } from './env-names.ts';

export type ConfigLocation =
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string }
  | { readonly kind: 'ssm'; readonly parameterName: string };

export class ConfigLocationError extends Error {
  override readonly name = 'ConfigLocationError';
}

export function configLocationFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigLocation {
  const bucket = env[ENV_NAMES.configBucket];
  const key = env[ENV_NAMES.configKey];
  const parameterName = env[ENV_NAMES.configParameter];
  const hasS3 = Boolean(bucket || key);
  if (hasS3 && parameterName) {
    throw new ConfigLocationError('set either CONFIG_BUCKET/CONFIG_KEY or CONFIG_PARAMETER, not both');
  }
  if (hasS3) {
    if (!bucket || !key) throw new ConfigLocationError('CONFIG_BUCKET and CONFIG_KEY must be set together');
    return { kind: 's3', bucket, key };
  }
  if (parameterName) return { kind: 'ssm', parameterName };
  throw new ConfigLocationError('no config location: set CONFIG_BUCKET and CONFIG_KEY, or CONFIG_PARAMETER');
}

export interface ConfigReaders {
  readS3Object(bucket: string, key: string): Promise<string>;
  readSsmParameter(name: string): Promise<string>;
}

export function describeConfigLocation(location: ConfigLocation): string {
  return location.kind === 's3' ? `s3://${location.bucket}/${location.key}` : `ssm:${location.parameterName}`;
}

/** The config document as read: its parsed JSON and the version that names this exact text. */
export interface ConfigDocument {
  readonly document: unknown;
  /** SHA-256 of the document text, lowercase hex. */
  readonly version: string;
}

/** The version of a config text: the same text read by either function yields the same version. */
export function configVersionOf(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Parses a config text. A syntax error is reported by line, column and problem only: `JSON.parse`
 * messages quote a slice of the text, and in a config that slice may be anything (see json-syntax.ts).
 */
export function parseConfigText(text: string, location: ConfigLocation): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const found = findJsonSyntaxProblem(text);
    const where =
      found === undefined ? 'a syntax error' : `line ${found.line}, column ${found.column}: ${found.problem}`;
    // No `cause`: the JSON.parse error's message is exactly what must not reach a log line.
    throw new ConfigLocationError(
      `config at ${describeConfigLocation(location)} is not valid JSON: ${where}`,
    );
  }
}

/** The config document and its version, from wherever it lives. */
export async function readConfigDocument(
  location: ConfigLocation,
  readers: ConfigReaders,
): Promise<ConfigDocument> {
  const text =
    location.kind === 's3'
      ? await readers.readS3Object(location.bucket, location.key)
      : await readers.readSsmParameter(location.parameterName);
  return { document: parseConfigText(text, location), version: configVersionOf(text) };
}
