/**
 * Least-privilege grants for the poll function, narrower than the L2 `grant*` helpers:
 * - S3: PutObject and GetObject on the key prefix only. GetObject (which also covers HeadObject) lets the
 *   store check an object that is already under a message's key (a conditional write answered 412) before
 *   it counts the message as stored: without it every re-poll after an interrupted run would fail. The
 *   multipart path of the store (lib/adapters/s3-message-store.ts) uploads to `<prefix>.incoming/`, copies
 *   to the final key and deletes the temporary object, so the temporary folder alone also gets
 *   DeleteObject and AbortMultipartUpload. No list, and no delete of stored messages.
 * - S3, keep mode: the state objects under `<prefix>.state/` (lib/adapters/s3-state-store.ts) are read
 *   and written (GetObject; PutObject is already granted on the prefix), and ListBucket is allowed for that
 *   prefix only, so a missing state object answers 404 rather than 403 (or, where S3 still says 403, the
 *   store lists the key to tell "none yet" from "refused").
 * - S3, health records: each mailbox's health record (lib/health/) is `<prefix>.health/<mailboxId>.json`,
 *   beside keep mode's state; the poll function reads it at the start of a run and writes it when the
 *   state changes. GetObject and PutObject are granted on those keys by name
 *   (the prefix grant above also covers them, but a narrower prefix or a move of the messages must not
 *   take the health record along), and ListBucket for those keys only, so a mailbox's first run can tell
 *   "no record yet" from "refused".
 * - Secrets Manager: GetSecretValue on the named secrets only; PutSecretValue only on the secrets of
 *   OAuth2 refresh-token mailboxes, where a rotated refresh token is written back (lib/oauth).
 * - SSM, a config parameter: GetParameter alone, the one call the functions make
 *   (lib/lambda/config-readers.ts); test/integration/iam-calls.test.ts records every call they make.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { INCOMING_FOLDER } from '../lib/adapters/s3-message-store.ts';
import { HEALTH_RECORDS_FOLDER } from '../lib/health/states.ts';

/** Secrets Manager appends a hyphen and six random characters to every secret name in its ARN. */
const SECRET_ARN_SUFFIX_WILDCARD = '-??????';
const COMPLETE_SECRET_ARN = /^arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:.+-[A-Za-z0-9]{6}$/;

export function messageObjectsPattern(keyPrefix: string): string {
  return `${keyPrefix}*`;
}

export function incomingObjectsPattern(keyPrefix: string): string {
  return `${keyPrefix}${INCOMING_FOLDER}*`;
}

/** Keep mode's state objects, one per mailbox (lib/adapters/local-state-store.ts stateKeyFor). */
export function stateObjectsPattern(keyPrefix: string): string {
  return `${keyPrefix}.state/*`;
}

/** The health records, one per mailbox (`<prefix>.health/<mailboxId>.json`, lib/adapters/s3-health-store.ts). */
export function healthObjectsPattern(keyPrefix: string): string {
  return `${keyPrefix}${HEALTH_RECORDS_FOLDER}*`;
}

export function grantMessageStore(grantee: iam.IGrantable, bucket: s3.IBucket, keyPrefix: string): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:PutObject', 's3:GetObject'],
    resourceArns: [bucket.arnForObjects(messageObjectsPattern(keyPrefix))],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:AbortMultipartUpload', 's3:DeleteObject'],
    resourceArns: [bucket.arnForObjects(incomingObjectsPattern(keyPrefix))],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:GetObject'],
    resourceArns: [bucket.arnForObjects(stateObjectsPattern(keyPrefix))],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:ListBucket'],
    resourceArns: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': stateObjectsPattern(keyPrefix) } },
  });
  grantHealthRecords(grantee, bucket, keyPrefix);
  // SSE-KMS: writing needs a data key; multipart completion and copy read the parts back.
  bucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
}

/** Read and write of the mailboxes' health records, and a listing of those keys alone. */
function grantHealthRecords(grantee: iam.IGrantable, bucket: s3.IBucket, keyPrefix: string): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:GetObject', 's3:PutObject'],
    resourceArns: [bucket.arnForObjects(healthObjectsPattern(keyPrefix))],
  });
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:ListBucket'],
    resourceArns: [bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': healthObjectsPattern(keyPrefix) } },
  });
}

/**
 * The ARN to grant for a secret id from the config: a complete ARN as is, a partial ARN or a name with
 * the six-character suffix Secrets Manager adds. A name is resolved in the stack's account and region.
 */
export function secretArnFor(scope: Construct, secretId: string): string {
  if (secretId.startsWith('arn:')) {
    return COMPLETE_SECRET_ARN.test(secretId) ? secretId : `${secretId}${SECRET_ARN_SUFFIX_WILDCARD}`;
  }
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretId}${SECRET_ARN_SUFFIX_WILDCARD}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

export function grantSecretsWrite(grantee: iam.IGrantable, secretArns: readonly string[]): void {
  if (secretArns.length === 0) return;
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:PutSecretValue'],
    resourceArns: [...secretArns],
  });
}

export function grantSecretsRead(grantee: iam.IGrantable, secretArns: readonly string[]): void {
  if (secretArns.length === 0) return;
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['secretsmanager:GetSecretValue'],
    resourceArns: [...secretArns],
  });
}

/**
 * s3:GetObject on the stored messages (the key prefix), plus kms:Decrypt on the bucket's key if it has
 * one: what a consumer needs to fetch the object a notification names. No list, no write, no delete.
 * A grantee of another account gets it in the bucket policy (a bucket created here only).
 */
export function grantReadMessages(grantee: iam.IGrantable, bucket: s3.IBucket, keyPrefix: string): iam.Grant {
  const grant = iam.Grant.addToPrincipalOrResource({
    grantee,
    actions: ['s3:GetObject'],
    resourceArns: [bucket.arnForObjects(messageObjectsPattern(keyPrefix))],
    resource: bucket,
  });
  const keyGrant = bucket.encryptionKey?.grantDecrypt(grantee);
  return keyGrant ? grant.combine(keyGrant) : grant;
}

/**
 * ssm:GetParameter on the config parameter, and kms:Decrypt on its key when it is a SecureString under a
 * key of its own. Not `parameter.grantRead`: that adds GetParameters, DescribeParameters and
 * GetParameterHistory (every earlier version of the config), which no function calls.
 */
export function grantParameterRead(grantee: iam.IGrantable, parameter: ssm.IParameter): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['ssm:GetParameter'],
    resourceArns: [parameter.parameterArn],
  });
  // IParameter does not declare the key; the parameters of aws-ssm (ParameterBase) carry it.
  (parameter as { readonly encryptionKey?: kms.IKey }).encryptionKey?.grantDecrypt(grantee);
}
