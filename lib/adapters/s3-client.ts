/**
 * The S3 client the CLI and the functions use: region and endpoint from the environment, the shared client
 * defaults, and one middleware that spares every PutObject a second SHA-256 of its body.
 *
 * SigV4 signs the payload's SHA-256 (`x-amz-content-sha256`); for a body in memory the SDK's signer hashes
 * it again, although the store has already hashed those bytes on their way in and sends the digest as
 * `ChecksumSHA256`. The middleware puts that digest into the header, which the signer then uses as it is.
 * S3 checks the header against the bytes it receives as well, so a wrong digest fails the request (a
 * second check beside `x-amz-checksum-sha256`), never the stored bytes.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { AWS_CLIENT_DEFAULTS, endpointFromEnv, regionFromEnv } from './aws-common.ts';

export const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';
const MIDDLEWARE_NAME = 'mailboxPollerKnownPayloadHash';

/**
 * An S3 client configured from the environment: region from AWS_REGION (default us-east-1) and, when
 * AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) points at a local S3, path-style addressing, which such
 * servers need because `<bucket>.localhost` does not resolve.
 */
export function createS3Client(config: S3ClientConfig = {}): S3Client {
  const endpoint = endpointFromEnv('AWS_ENDPOINT_URL_S3');
  const client = new S3Client({
    region: regionFromEnv(),
    ...AWS_CLIENT_DEFAULTS,
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
    ...config,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const digest = knownPayloadHash(args.input, args.request);
      if (digest !== undefined) {
        (args.request as { headers: Record<string, string> }).headers[PAYLOAD_HASH_HEADER] = digest;
      }
      return next(args);
    },
    { step: 'build', name: MIDDLEWARE_NAME },
  );
  return client;
}

/**
 * The hex SHA-256 of the request's body when the caller already sent it as `ChecksumSHA256` (base64) and the
 * body is in memory as it is; undefined otherwise (a stream, or a request that declares nothing).
 */
export function knownPayloadHash(input: unknown, request: unknown): string | undefined {
  const checksum = (input as { ChecksumSHA256?: unknown } | undefined)?.ChecksumSHA256;
  const http = request as { body?: unknown; headers?: Record<string, string> } | undefined;
  if (typeof checksum !== 'string' || !(http?.body instanceof Uint8Array) || http.headers === undefined) {
    return undefined;
  }
  const digest = Buffer.from(checksum, 'base64');
  if (digest.length !== 32) return undefined;
  return digest.toString('hex');
}
