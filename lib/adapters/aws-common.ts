/** Small helpers shared by the AWS adapters: region and endpoint from the environment, error wording. */

export const DEFAULT_AWS_REGION = 'us-east-1';

/**
 * HTTP settings for every AWS client: give up on a connection that cannot be opened within 5 s, and on a
 * socket silent for 60 s, so a hung request fails (and is retried by the SDK) instead of running into the
 * invocation deadline. An idle limit, unlike a total one, never cuts a large upload that is progressing.
 */
export const AWS_HTTP_OPTIONS = { connectionTimeout: 5_000, socketTimeout: 60_000 } as const;

/**
 * Settings every AWS client of ours is created with. `cacheMiddleware`: resolve each command class's
 * middleware stack once per client instead of on every request (sendAbortable extends this to requests
 * with an abort signal); nothing here changes a client's middleware after its first request.
 */
export const AWS_CLIENT_DEFAULTS = { requestHandler: AWS_HTTP_OPTIONS, cacheMiddleware: true } as const;

export function regionFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || DEFAULT_AWS_REGION;
}

/** The service endpoint override (`AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`), if any. */
export function endpointFromEnv(
  serviceVariable: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  return env[serviceVariable] || env.AWS_ENDPOINT_URL || undefined;
}

/** HTTP status of an SDK error, when the service answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}

/** "Name: message (HTTP 403)", for wrapping SDK errors in a sentence that says what we were doing. */
export function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = httpStatusOf(error);
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return `${name}${error.message}${status === undefined ? '' : ` (HTTP ${status})`}`;
}
