/**
 * A recording HTTP proxy in front of the AWS stand-ins (fauxqs for S3 and SQS, the Secrets Manager and
 * SSM endpoints). Pointing AWS_ENDPOINT_URL at it sends every AWS SDK client of the code under test
 * through it, whatever the service: each request is routed by the service its SigV4 signature names
 * (`Credential=<key>/<date>/<region>/<service>/aws4_request`), so a call to a service without a stand-in
 * (KMS, STS, CloudWatch...) is recorded too, and answered with an error instead of reaching the internet.
 *
 * What is kept per request is what IAM authorizes on: method, path, query, headers, and the JSON body of
 * JSON-protocol services (SQS, Secrets Manager, SSM, KMS), with the caller (`during`) and the status.
 * S3 bodies pass through unread.
 *
 * Two behaviours of real S3 the emulator lacks are added here, because the code takes other paths on
 * them: conditional writes (`If-None-Match: *` onto an existing key, `If-Match` with another ETag: 412),
 * and injected failures (`failNext`), e.g. the 403 S3 gives a role without s3:ListBucket for a missing key.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface RecordedRequest {
  /** The invocation that made it (`during`), or `(outside any invocation)`. */
  readonly caller: string;
  /** The signing name of the SigV4 credential scope: s3, sqs, secretsmanager, ssm, kms... */
  readonly service: string;
  readonly region: string;
  readonly method: string;
  /** The path as sent (percent-encoded), without the query. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  /** The parsed JSON body of a JSON-protocol request. */
  readonly body?: Readonly<Record<string, unknown>>;
  /** The parsed JSON body of the answer of a JSON-protocol request. */
  responseBody?: Readonly<Record<string, unknown>>;
  status?: number;
}

export interface InjectedFailure {
  readonly status: number;
  readonly code: string;
}

export interface AwsRequestRecorder {
  /** For AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  readonly requests: readonly RecordedRequest[];
  /** Runs `work` with every request it makes attributed to `caller`. */
  during<T>(caller: string, work: () => Promise<T>): Promise<T>;
  /** Answers the next request that `matches` with this failure instead of forwarding it. */
  failNext(matches: (request: RecordedRequest) => boolean, failure: InjectedFailure): void;
  close(): Promise<void>;
}

export const OUTSIDE_ANY_INVOCATION = '(outside any invocation)';
const CREDENTIAL_SCOPE = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** Upstream base URLs by signing name, e.g. `{ s3: fauxqs, sqs: fauxqs, secretsmanager: ..., ssm: ... }`. */
export async function startAwsRequestRecorder(
  upstreams: Readonly<Record<string, string>>,
): Promise<AwsRequestRecorder> {
  const requests: RecordedRequest[] = [];
  const failures: { matches: (request: RecordedRequest) => boolean; failure: InjectedFailure }[] = [];
  let caller = OUTSIDE_ANY_INVOCATION;

  const server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`recorder failed: ${String(error)}`);
    });
  });

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const scope = CREDENTIAL_SCOPE.exec(String(incoming.headers.authorization ?? ''));
    const url = new URL(incoming.url ?? '/', 'http://recorder');
    const headers = Object.fromEntries(
      Object.entries(incoming.headers).map(([name, value]) => [name, String(value)]),
    );
    const isJson = /json/.test(headers['content-type'] ?? '');
    const bodyBytes = isJson ? await readAll(incoming) : undefined;
    const recorded: RecordedRequest = {
      caller,
      service: scope?.[2] ?? '(unsigned)',
      region: scope?.[1] ?? '',
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(bodyBytes === undefined ? {} : { body: parseJson(bodyBytes) }),
    };
    requests.push(recorded);

    const upstream = upstreams[recorded.service];
    const injected = failures.findIndex((failure) => failure.matches(recorded));
    if (upstream === undefined || injected >= 0) {
      const failure =
        injected >= 0
          ? failures.splice(injected, 1)[0]!.failure
          : { status: 400, code: 'UnrecognizedClientException' };
      recorded.status = failure.status;
      incoming.resume();
      answerError(response, recorded, failure);
      return;
    }
    if (recorded.service === 's3' && (await preconditionFails(upstream, recorded))) {
      recorded.status = 412;
      incoming.resume();
      answerError(response, recorded, { status: 412, code: 'PreconditionFailed' });
      return;
    }
    await forward(upstream, incoming, bodyBytes, recorded, response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    requests,
    async during(name, work) {
      const previous = caller;
      caller = name;
      try {
        return await work();
      } finally {
        caller = previous;
      }
    },
    failNext(matches, failure) {
      failures.push({ matches, failure });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(
  upstream: string,
  incoming: IncomingMessage,
  bodyBytes: Buffer | undefined,
  recorded: RecordedRequest,
  response: ServerResponse,
): Promise<void> {
  const target = new URL(incoming.url ?? '/', upstream);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      target,
      { method: incoming.method, headers: { ...incoming.headers, host: target.host } },
      (answer) => {
        recorded.status = answer.statusCode;
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        if (recorded.body === undefined) {
          answer.pipe(response);
          answer.once('end', resolve);
          return;
        }
        readAll(answer).then((bytes) => {
          recorded.responseBody = parseJson(bytes);
          response.end(bytes);
          resolve();
        }, reject);
      },
    );
    outgoing.once('error', reject);
    if (bodyBytes === undefined) incoming.pipe(outgoing);
    else outgoing.end(bodyBytes);
  });
}

/**
 * S3's conditional writes: a PutObject, CopyObject or CompleteMultipartUpload with `If-None-Match: *` onto
 * an existing key, or with an `If-Match` other than the key's ETag, fails with 412 before anything is written.
 */
async function preconditionFails(upstream: string, request: RecordedRequest): Promise<boolean> {
  const ifNoneMatch = request.headers['if-none-match'];
  const ifMatch = request.headers['if-match'];
  const isWrite = request.method === 'PUT' || (request.method === 'POST' && 'uploadId' in request.query);
  const isPart = 'partNumber' in request.query;
  if (!isWrite || isPart || (ifNoneMatch === undefined && ifMatch === undefined)) return false;
  const head = await fetch(new URL(request.path, upstream), { method: 'HEAD' });
  if (ifNoneMatch === '*') return head.ok;
  return !head.ok || head.headers.get('etag') !== ifMatch;
}

function answerError(response: ServerResponse, request: RecordedRequest, failure: InjectedFailure): void {
  const message = `${failure.code} (answered by the request recorder)`;
  if (request.service === 's3') {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failure.code}</Code><Message>${message}</Message></Error>`;
    response.writeHead(failure.status, { 'content-type': 'application/xml' });
    response.end(request.method === 'HEAD' ? undefined : xml);
    return;
  }
  response.writeHead(failure.status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-query-error': `${failure.code};Sender`,
  });
  response.end(JSON.stringify({ __type: failure.code, message }));
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

function parseJson(bytes: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(bytes.toString('utf8') || '{}') as Record<string, unknown>;
  } catch {
    return { unparsed: bytes.toString('utf8') };
  }
}
