/**
 * What IAM authorizes for a recorded AWS request: the action, the resource ARN and the request's
 * condition keys, as the Service Authorization Reference lists them. One request can need two
 * authorizations (CopyObject: s3:PutObject on the target, s3:GetObject on the source). A request this
 * module does not know is returned as unmapped with its reason, so that a new kind of call fails the test
 * that records it instead of passing unchecked.
 */
import type { RecordedRequest } from './aws-request-recorder.ts';

export interface IamRequest {
  /** The API operation, e.g. CopyObject. */
  readonly operation: string;
  /** The IAM action, e.g. s3:PutObject. */
  readonly action: string;
  readonly resource: string;
  /** Service-specific condition keys of the request (global keys are added by the evaluation). */
  readonly context: Readonly<Record<string, string>>;
}

export type MappedRequest =
  | { readonly kind: 'mapped'; readonly authorizations: readonly IamRequest[] }
  | { readonly kind: 'unmapped'; readonly reason: string };

/** Request headers that are S3 condition keys of the same name (`s3:<header>`). */
const S3_HEADER_KEYS = [
  'if-match',
  'if-none-match',
  'x-amz-acl',
  'x-amz-copy-source',
  'x-amz-metadata-directive',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-storage-class',
];

export function iamRequestsFor(request: RecordedRequest, account: string): MappedRequest {
  switch (request.service) {
    case 's3':
      return s3Requests(request);
    case 'sqs':
      return sqsRequests(request, account);
    case 'secretsmanager':
      return secretsManagerRequests(request, account);
    case 'ssm':
      return ssmRequests(request, account);
    case 'kms':
      return kmsRequests(request, account);
    case 'events':
      return eventBridgeRequests(request, account);
    default:
      return unmapped(`no IAM mapping for service "${request.service}"`);
  }
}

function unmapped(reason: string): MappedRequest {
  return { kind: 'unmapped', reason };
}

function mapped(...authorizations: IamRequest[]): MappedRequest {
  return { kind: 'mapped', authorizations };
}

/** Path-style S3: `/<bucket>` or `/<bucket>/<key>`, each segment percent-encoded. */
function s3Requests(request: RecordedRequest): MappedRequest {
  const [, bucket = '', ...keySegments] = request.path.split('/');
  const key = keySegments.map(decodeURIComponent).join('/');
  const objectArn = `arn:aws:s3:::${bucket}/${key}`;
  const { method, query, headers } = request;
  const has = (name: string) => name in query;
  const context: Record<string, string> = {};
  for (const name of S3_HEADER_KEYS) {
    const value = headers[name];
    if (value !== undefined) context[`s3:${name}`] = name === 'x-amz-copy-source' ? copySource(value) : value;
  }
  const object = (operation: string, action: string) => ({ operation, action, resource: objectArn, context });

  if (keySegments.length === 0 || key === '') {
    if (method === 'GET' && query['list-type'] === '2') {
      const listContext: Record<string, string> = {};
      for (const name of ['prefix', 'delimiter', 'max-keys']) {
        if (query[name] !== undefined) listContext[`s3:${name}`] = query[name];
      }
      return mapped({
        operation: 'ListObjectsV2',
        action: 's3:ListBucket',
        resource: `arn:aws:s3:::${bucket}`,
        context: listContext,
      });
    }
    return unmapped(`bucket-level S3 request ${method} ${request.path}?${new URLSearchParams(query)}`);
  }
  if (method === 'HEAD' && !has('uploadId')) return mapped(object('HeadObject', 's3:GetObject'));
  if (method === 'GET' && !has('uploadId')) return mapped(object('GetObject', 's3:GetObject'));
  if (method === 'PUT' && headers['x-amz-copy-source'] !== undefined) {
    const operation = has('partNumber') ? 'UploadPartCopy' : 'CopyObject';
    const source = `arn:aws:s3:::${copySource(headers['x-amz-copy-source']).split('?')[0]}`;
    return mapped(object(operation, 's3:PutObject'), {
      operation,
      action: 's3:GetObject',
      resource: source,
      context: {},
    });
  }
  if (method === 'PUT' && has('partNumber') && has('uploadId'))
    return mapped(object('UploadPart', 's3:PutObject'));
  if (method === 'PUT' && Object.keys(query).filter((name) => name !== 'x-id').length === 0)
    return mapped(object('PutObject', 's3:PutObject'));
  if (method === 'POST' && has('uploads')) return mapped(object('CreateMultipartUpload', 's3:PutObject'));
  if (method === 'POST' && has('uploadId')) return mapped(object('CompleteMultipartUpload', 's3:PutObject'));
  if (method === 'DELETE' && has('uploadId'))
    return mapped(object('AbortMultipartUpload', 's3:AbortMultipartUpload'));
  if (method === 'DELETE' && !has('versionId')) return mapped(object('DeleteObject', 's3:DeleteObject'));
  return unmapped(`S3 request ${method} ${request.path}?${new URLSearchParams(query)}`);
}

/** `x-amz-copy-source` is `/bucket/key` or `bucket/key`, percent-encoded; the condition key has no slash. */
function copySource(header: string): string {
  return decodeURIComponent(header.replace(/^\//, ''));
}

/** The operation of a JSON-protocol request: `X-Amz-Target: <prefix>.<Operation>`. */
function operationOf(request: RecordedRequest): string | undefined {
  return request.headers['x-amz-target']?.split('.').at(-1);
}

const SQS_ACTIONS: Readonly<Record<string, string>> = {
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  ReceiveMessage: 'sqs:ReceiveMessage',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
};

function sqsRequests(request: RecordedRequest, account: string): MappedRequest {
  const operation = operationOf(request);
  const action = operation === undefined ? undefined : SQS_ACTIONS[operation];
  const queueUrl = request.body?.['QueueUrl'];
  if (action === undefined || typeof queueUrl !== 'string') {
    return unmapped(`SQS request ${operation ?? '(no X-Amz-Target)'} ${JSON.stringify(request.body)}`);
  }
  const queueName = queueUrl.split('/').at(-1);
  const resource = `arn:aws:sqs:${request.region}:${account}:${queueName}`;
  return mapped({ operation: operation!, action, resource, context: {} });
}

function secretsManagerRequests(request: RecordedRequest, account: string): MappedRequest {
  const operation = operationOf(request);
  const secretId = request.body?.['SecretId'];
  if (operation === undefined || typeof secretId !== 'string') {
    return unmapped(`Secrets Manager request ${operation} ${JSON.stringify(request.body)}`);
  }
  // IAM sees the secret's full ARN (name plus six random characters); the answer names it.
  const answered = request.responseBody?.['ARN'];
  const resource =
    typeof answered === 'string'
      ? answered
      : secretId.startsWith('arn:')
        ? secretId
        : `arn:aws:secretsmanager:${request.region}:${account}:secret:${secretId}`;
  return mapped({ operation, action: `secretsmanager:${operation}`, resource, context: {} });
}

function ssmRequests(request: RecordedRequest, account: string): MappedRequest {
  const operation = operationOf(request);
  const name = request.body?.['Name'];
  if (operation !== 'GetParameter' || typeof name !== 'string') {
    return unmapped(`SSM request ${operation} ${JSON.stringify(request.body)}`);
  }
  const resource = `arn:aws:ssm:${request.region}:${account}:parameter/${name.replace(/^\//, '')}`;
  return mapped({ operation, action: 'ssm:GetParameter', resource, context: {} });
}

function kmsRequests(request: RecordedRequest, account: string): MappedRequest {
  const operation = operationOf(request);
  const keyId = request.body?.['KeyId'];
  if (operation === undefined || typeof keyId !== 'string' || keyId.startsWith('alias/')) {
    return unmapped(`KMS request ${operation} ${JSON.stringify(request.body)}`);
  }
  const resource = keyId.startsWith('arn:') ? keyId : `arn:aws:kms:${request.region}:${account}:key/${keyId}`;
  return mapped({ operation, action: `kms:${operation}`, resource, context: {} });
}

/**
 * PutEvents: events:PutEvents on the bus of each entry (its EventBusName, a name or an ARN; the default
 * bus without one), with the entry's `events:source` and `events:detail-type` condition keys.
 */
function eventBridgeRequests(request: RecordedRequest, account: string): MappedRequest {
  const operation = operationOf(request);
  const entries = request.body?.['Entries'];
  if (operation !== 'PutEvents' || !Array.isArray(entries) || entries.length === 0) {
    return unmapped(`EventBridge request ${operation} ${JSON.stringify(request.body)}`);
  }
  const busArn = (bus: unknown) =>
    typeof bus === 'string' && bus.startsWith('arn:')
      ? bus
      : `arn:aws:events:${request.region}:${account}:event-bus/${typeof bus === 'string' ? bus : 'default'}`;
  return mapped(
    ...(entries as Record<string, unknown>[]).map((entry) => ({
      operation,
      action: 'events:PutEvents',
      resource: busArn(entry['EventBusName']),
      context: {
        'events:source': String(entry['Source']),
        'events:detail-type': String(entry['DetailType']),
      },
    })),
  );
}

/**
 * The KMS permissions S3 or SQS uses on the caller's behalf when the resource is encrypted with a KMS key
 * (the caller needs them on the key, with `kms:ViaService` naming the service): writing an object or
 * sending a message needs a data key, a multipart upload also reads its parts back (kms:Decrypt), reading
 * an object or receiving a message decrypts. HeadObject reads metadata only.
 */
export function kmsAuthorizationsFor(
  call: IamRequest,
  keyArn: string,
  region: string,
  account: string,
): IamRequest[] {
  const service = call.action.split(':')[0];
  const multipart = ['CreateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload'];
  const actions: Record<string, string[]> = {
    's3:PutObject': multipart.includes(call.operation)
      ? ['kms:GenerateDataKey', 'kms:Decrypt']
      : ['kms:GenerateDataKey'],
    's3:GetObject': call.operation === 'HeadObject' ? [] : ['kms:Decrypt'],
    'sqs:SendMessage': ['kms:GenerateDataKey', 'kms:Decrypt'],
    'sqs:ReceiveMessage': ['kms:Decrypt'],
  };
  const context = { 'kms:ViaService': `${service}.${region}.amazonaws.com`, 'kms:CallerAccount': account };
  return (actions[call.action] ?? []).map((action) => ({
    operation: `${call.operation} (${service} on the caller's behalf)`,
    action,
    resource: keyArn,
    context,
  }));
}
