/**
 * Reads one SSM parameter with a single signed GetParameter call. The dispatch function needs exactly
 * this one call, so it signs the request itself (SigV4, reusing the S3 client's credentials and region)
 * instead of bundling a whole SSM client for it.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

/** SHA-256 in the shape the signer expects: `new Sha256(secret?)`, `update`, async `digest`. */
class NodeSha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.#hash.digest();
  }
}

function toBytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

export class ParameterReadError extends Error {
  override readonly name = 'ParameterReadError';
}

/** The value of an SSM parameter (SecureString decrypted). */
export async function readSsmParameter(
  name: string,
  awsConfig: Pick<S3Client['config'], 'credentials' | 'region'>,
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const region = await awsConfig.region();
  const hostname = `ssm.${region}.amazonaws.com`;
  const signer = new SignatureV4({
    credentials: awsConfig.credentials,
    region,
    service: 'ssm',
    sha256: NodeSha256,
  });
  const body = JSON.stringify({ Name: name, WithDecryption: true });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname,
    path: '/',
    query: {},
    headers: {
      host: hostname,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AmazonSSM.GetParameter',
    },
    body,
  });
  const response = await fetchImpl(`https://${hostname}/`, {
    method: 'POST',
    headers: signed.headers,
    body,
  });
  const text = await response.text();
  if (!response.ok) {
    throw new ParameterReadError(
      `SSM GetParameter ${name} failed: HTTP ${response.status} ${errorType(text)}`,
    );
  }
  const value = (JSON.parse(text) as { Parameter?: { Value?: unknown } }).Parameter?.Value;
  if (typeof value !== 'string') throw new ParameterReadError(`SSM parameter ${name} has no value`);
  return value;
}

/** The error code of an AWS JSON error body (never the whole body: it could echo the request). */
function errorType(text: string): string {
  try {
    const type = (JSON.parse(text) as { __type?: unknown }).__type;
    return typeof type === 'string' ? type.slice(type.lastIndexOf('#') + 1) : 'unknown error';
  } catch {
    return 'unknown error';
  }
}
