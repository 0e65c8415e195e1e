/**
 * Where the deployed mailbox list lives. Two places, chosen by environment:
 * - S3 object (`CONFIG_BUCKET` + `CONFIG_KEY`): no size limit; the choice for long mailbox lists.
 * - SSM parameter (`CONFIG_PARAMETER`): at most 4 KB (standard tier) or 8 KB (advanced tier); what the
 *   construct uses for an inline `mailboxes` list.
 */
export type ConfigLocation =
  | { readonly kind: 's3'; readonly bucket: string; readonly key: string }
  | { readonly kind: 'ssm'; readonly parameterName: string };

export class ConfigLocationError extends Error {
  override readonly name = 'ConfigLocationError';
}

export function configLocationFromEnv(env: Readonly<Record<string, string | undefined>>): ConfigLocation {
  const bucket = env['CONFIG_BUCKET'];
  const key = env['CONFIG_KEY'];
  const parameterName = env['CONFIG_PARAMETER'];
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

/** The config document as JSON, from wherever it lives. */
export async function readConfigDocument(location: ConfigLocation, readers: ConfigReaders): Promise<unknown> {
  const text =
    location.kind === 's3'
      ? await readers.readS3Object(location.bucket, location.key)
      : await readers.readSsmParameter(location.parameterName);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigLocationError(
      `config at ${describeConfigLocation(location)} is not valid JSON: ${(error as Error).message}`,
    );
  }
}
