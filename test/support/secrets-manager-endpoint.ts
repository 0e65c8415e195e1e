/**
 * A stand-in for AWS Secrets Manager that answers the calls the poller makes, GetSecretValue and
 * PutSecretValue (a rotated OAuth2 refresh token), over the service's JSON protocol (POST,
 * `X-Amz-Target: secretsmanager.<Operation>`, JSON 1.1 body). Pointing
 * AWS_ENDPOINT_URL_SECRETS_MANAGER at it lets the real SDK client, bundled or not, read secrets in tests.
 * A secret is found by its name or its ARN, as the service does.
 * PutSecretValue's ClientRequestToken becomes the new version's id, as in the service: the same token
 * with the same value again changes nothing, with another value it is refused (ResourceExistsException).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const GET_SECRET_VALUE = 'secretsmanager.GetSecretValue';
const PUT_SECRET_VALUE = 'secretsmanager.PutSecretValue';

export interface SecretsManagerEndpoint {
  /** For AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  readonly endpoint: string;
  /** Creates or replaces a secret (its ARN stays the same), as a new version. */
  putSecret(name: string, secretString: string): void;
  /** The ARN of a stored secret: `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`. */
  arnOf(name: string): string;
  /** The SecretId of every GetSecretValue request, in order, found or not. */
  readonly requestedIds: readonly string[];
  /** The SecretId of every PutSecretValue request, in order. */
  readonly writtenIds: readonly string[];
  /** The current value of a stored secret. */
  valueOf(name: string): string;
  /** Moves AWSCURRENT back to an earlier version (UpdateSecretVersionStage, as a person may do). */
  restoreVersion(name: string, versionId: string): void;
  /** Refuse PutSecretValue (as for a role without secretsmanager:PutSecretValue). */
  denyWrites(deny: boolean): void;
  close(): Promise<void>;
}

interface StoredSecret {
  readonly arn: string;
  secretString: string;
  versionId: string;
  readonly createdDate: number;
  /** Every version ever created: id → value. */
  readonly versions: Map<string, string>;
}

/** The random-looking suffix Secrets Manager appends to a name in an ARN; derived from the name here. */
function arnSuffix(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash.toString(36).padStart(6, 'a').slice(-6);
}

export async function startSecretsManagerEndpoint(
  initial: Readonly<Record<string, string>> = {},
): Promise<SecretsManagerEndpoint> {
  const secrets = new Map<string, StoredSecret>();
  const requestedIds: string[] = [];
  const writtenIds: string[] = [];
  let writesDenied = false;
  let versions = 0;

  const put = (name: string, secretString: string, versionId = `version-${++versions}`) => {
    const existing = secrets.get(name);
    if (existing) {
      Object.assign(existing, { secretString, versionId });
      existing.versions.set(versionId, secretString);
    } else {
      const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${arnSuffix(name)}`;
      const created = Math.floor(Date.now() / 1000);
      const versions = new Map([[versionId, secretString]]);
      secrets.set(name, { arn, secretString, versionId, createdDate: created, versions });
    }
  };
  for (const [name, value] of Object.entries(initial)) put(name, value);

  const find = (secretId: string): [string, StoredSecret] | undefined =>
    [...secrets.entries()].find(([name, secret]) => name === secretId || secret.arn === secretId);

  const server = createServer((request, response) => {
    readBody(request)
      .then((body) => answer(request, body, response))
      .catch((error: unknown) =>
        reply(response, 500, { __type: 'InternalServiceError', message: String(error) }),
      );
  });

  function answer(request: IncomingMessage, body: string, response: ServerResponse): void {
    const target = request.headers['x-amz-target'];
    if (request.method !== 'POST' || (target !== GET_SECRET_VALUE && target !== PUT_SECRET_VALUE)) {
      reply(response, 400, { __type: 'UnknownOperationException', message: `not served here: ${target}` });
      return;
    }
    if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) {
      reply(response, 400, {
        __type: 'MissingAuthenticationTokenException',
        message: 'request is not signed',
      });
      return;
    }
    let secretId: unknown;
    let secretString: unknown;
    let requestToken: unknown;
    try {
      ({
        SecretId: secretId,
        SecretString: secretString,
        ClientRequestToken: requestToken,
      } = JSON.parse(body) as {
        SecretId?: unknown;
        SecretString?: unknown;
        ClientRequestToken?: unknown;
      });
    } catch {
      reply(response, 400, { __type: 'SerializationException', message: 'body is not JSON' });
      return;
    }
    if (typeof secretId !== 'string') {
      reply(response, 400, { __type: 'InvalidParameterException', message: 'SecretId is required' });
      return;
    }
    if (target === PUT_SECRET_VALUE) {
      writtenIds.push(secretId);
      const found = find(secretId);
      if (writesDenied) {
        reply(response, 400, { __type: 'AccessDeniedException', message: 'not authorized: PutSecretValue' });
      } else if (found === undefined || typeof secretString !== 'string') {
        reply(response, 400, {
          __type: 'ResourceNotFoundException',
          message: 'no such secret or no SecretString',
        });
      } else if (typeof requestToken === 'string' && found[1].versions.has(requestToken)) {
        if (found[1].versions.get(requestToken) === secretString) {
          reply(response, 200, { ARN: found[1].arn, Name: found[0], VersionId: requestToken });
        } else {
          reply(response, 400, {
            __type: 'ResourceExistsException',
            message: "You can't modify an existing version, you can only create new versions.",
          });
        }
      } else {
        put(found[0], secretString, typeof requestToken === 'string' ? requestToken : undefined);
        reply(response, 200, { ARN: found[1].arn, Name: found[0], VersionId: found[1].versionId });
      }
      return;
    }
    requestedIds.push(secretId);
    const found = find(secretId);
    if (found === undefined) {
      reply(response, 400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
      return;
    }
    const [name, secret] = found;
    reply(response, 200, {
      ARN: secret.arn,
      Name: name,
      SecretString: secret.secretString,
      VersionId: secret.versionId,
      VersionStages: ['AWSCURRENT'],
      CreatedDate: secret.createdDate,
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    putSecret: (name, secretString) => put(name, secretString),
    arnOf: (name) => {
      const secret = secrets.get(name);
      if (secret === undefined) throw new Error(`no secret named ${name}`);
      return secret.arn;
    },
    requestedIds,
    writtenIds,
    valueOf: (name) => {
      const secret = secrets.get(name);
      if (secret === undefined) throw new Error(`no secret named ${name}`);
      return secret.secretString;
    },
    restoreVersion: (name, versionId) => {
      const secret = secrets.get(name);
      const value = secret?.versions.get(versionId);
      if (secret === undefined || value === undefined) throw new Error(`no version ${versionId} of ${name}`);
      Object.assign(secret, { secretString: value, versionId });
    },
    denyWrites: (deny) => {
      writesDenied = deny;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, status: number, document: object): void {
  const body = JSON.stringify(document);
  response.writeHead(status, {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': `request-${Date.now()}`,
  });
  response.end(body);
}
