/**
 * An HTTP proxy in front of the S3/SQS emulator that counts requests by API operation, so the benchmark
 * can report S3 PUTs and SQS requests per message as AWS would bill them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEALTH_RECORDS_FOLDER } from '../lib/health/states.ts';

export interface RequestCounts {
  /** Operation name → requests, e.g. `s3:PutObject`, `sqs:SendMessageBatch`. */
  readonly byOperation: Record<string, number>;
  /**
   * PutObject + UploadPart + CopyObject of messages: the requests S3 bills as PUTs that write a message's
   * data. A mailbox's health record (`.health/`, written on its first run and when it changes) is counted
   * apart, as `s3:PutObject (health record)`: a cost per mailbox run, not per message.
   */
  readonly s3Puts: number;
  readonly s3Requests: number;
  readonly sqsRequests: number;
}

export interface CountingProxy {
  readonly endpoint: string;
  counts(): RequestCounts;
  reset(): void;
  close(): Promise<void>;
}

const S3_PUTS = new Set(['s3:PutObject', 's3:UploadPart', 's3:CopyObject']);

export async function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let counts = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const operation = operationOf(request);
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const upstream = http.request(
      {
        host: target.host,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts() {
      const byOperation = Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)));
      const sum = (keep: (operation: string) => boolean) =>
        [...counts].filter(([operation]) => keep(operation)).reduce((total, [, n]) => total + n, 0);
      return {
        byOperation,
        s3Puts: sum((operation) => S3_PUTS.has(operation)),
        s3Requests: sum((operation) => operation.startsWith('s3:')),
        sqsRequests: sum((operation) => operation.startsWith('sqs:')),
      };
    },
    reset() {
      counts = new Map();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

/** The API operation of one request, from the SQS JSON target header or the S3 REST shape. */
function operationOf(request: http.IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('AmazonSQS.')) return `sqs:${target.slice(10)}`;
  const url = new URL(request.url ?? '/', 'http://localhost');
  const operation = s3OperationOf(request, url);
  const record = url.pathname.includes(HEALTH_RECORDS_FOLDER) ? ' (health record)' : '';
  return `${operation}${operation.startsWith('s3:') ? record : ''}`;
}

function s3OperationOf(request: http.IncomingMessage, url: URL): string {
  const query = url.searchParams;
  const hasKey = url.pathname.split('/').filter(Boolean).length > 1;
  switch (request.method) {
    case 'PUT':
      if (request.headers['x-amz-copy-source'] !== undefined) return 's3:CopyObject';
      if (query.has('partNumber')) return 's3:UploadPart';
      return hasKey ? 's3:PutObject' : 's3:CreateBucket';
    case 'POST':
      if (query.has('uploads')) return 's3:CreateMultipartUpload';
      if (query.has('uploadId')) return 's3:CompleteMultipartUpload';
      return 'sqs:other';
    case 'DELETE':
      return query.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject';
    case 'HEAD':
      return hasKey ? 's3:HeadObject' : 's3:HeadBucket';
    default:
      return hasKey ? 's3:GetObject' : 's3:ListObjects';
  }
}
