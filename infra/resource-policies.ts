/**
 * Resource policies that hold whatever the identity policies say, so that neither a stray grant elsewhere
 * in the account nor a forged request undoes them:
 * - The job queue accepts SendMessage from the dispatch role only. A job names a deployed mailbox and
 *   nothing else (lib/lambda/job.ts), so a forged job can at most poll a mailbox early; this keeps even
 *   that from anyone but the dispatcher.
 * - The poll role cannot overwrite a stored message: a PutObject (which also authorizes CopyObject and
 *   CompleteMultipartUpload) onto a final key is denied unless it carries `If-None-Match`, which S3 honours
 *   by refusing to replace an existing object (s3:if-none-match, "Enforce conditional writes" in the S3
 *   user guide). The store's temporary `.incoming/` folder is exempt: its multipart parts
 *   (CreateMultipartUpload, UploadPart) cannot carry conditional headers. Keep mode's state objects
 *   (`.state/`) are replaced on every run, so they are exempt from that deny and get their own: a write
 *   there must carry `If-Match` (an update of the version read) or `If-None-Match` (the first write), so
 *   the state, too, is never overwritten blindly (lib/adapters/s3-state-store.ts). The health records
 *   (`<prefix>.health/<mailboxId>.json`, lib/health/) are rewritten when a mailbox's state changes and get the
 *   same rule: read with its ETag, written back with If-Match (If-None-Match the first time).
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { healthObjectsPattern, incomingObjectsPattern, stateObjectsPattern } from './grants.ts';

/**
 * Denies sqs:SendMessage (and so SendMessageBatch) to every principal but `sender`. The condition names
 * the role by `aws:PrincipalArn`, which for a Lambda's assumed-role session is the role's ARN; a
 * NotPrincipal would have to name each session.
 */
export function allowOnlySender(queue: sqs.IQueue, sender: iam.IRole): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheDispatcherSendsJobs',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnNotEquals: { 'aws:PrincipalArn': sender.roleArn } },
    }),
  );
}

/**
 * Denies `writer` any unconditional write onto a final key of the bucket (every key but the temporary
 * `.incoming/` folder of the prefix). Returns false when the bucket's policy is not this stack's to change
 * (an imported bucket); docs/deploy.md shows the statement to add by hand.
 */
export function denyOverwrites(bucket: s3.IBucket, writer: iam.IRole, keyPrefix: string): boolean {
  const { statementAdded } = bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'PollRoleNeverOverwrites',
      effect: iam.Effect.DENY,
      principals: [new iam.ArnPrincipal(writer.roleArn)],
      actions: ['s3:PutObject'],
      notResources: [
        bucket.arnForObjects(incomingObjectsPattern(keyPrefix)),
        bucket.arnForObjects(stateObjectsPattern(keyPrefix)),
        bucket.arnForObjects(healthObjectsPattern(keyPrefix)),
      ],
      conditions: { Null: { 's3:if-none-match': 'true' } },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'PollRoleWritesStateOnlyConditionally',
      effect: iam.Effect.DENY,
      principals: [new iam.ArnPrincipal(writer.roleArn)],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(stateObjectsPattern(keyPrefix))],
      // Both keys absent (conditions AND): neither If-Match nor If-None-Match.
      conditions: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } },
    }),
  );
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'PollRoleWritesHealthOnlyConditionally',
      effect: iam.Effect.DENY,
      principals: [new iam.ArnPrincipal(writer.roleArn)],
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects(healthObjectsPattern(keyPrefix))],
      conditions: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } },
    }),
  );
  return statementAdded;
}
