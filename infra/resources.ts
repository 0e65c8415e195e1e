/** Props for the bucket and queues the construct creates: the defaults of defaults.ts merged with the caller's. */
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { DEFAULTS, ENFORCED_BUCKET_PROPS } from './defaults.ts';
import { incomingObjectsPattern, stateObjectsPattern } from './grants.ts';
import type { MailboxIngestionProps } from './props.ts';

/** SQS-managed encryption, or the customer key when one is given. */
export function queueEncryption(
  kmsKey: kms.IKey | undefined,
): Pick<sqs.QueueProps, 'encryption' | 'encryptionMasterKey'> {
  return kmsKey
    ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: kmsKey }
    : { encryption: sqs.QueueEncryption.SQS_MANAGED };
}

/**
 * The new bucket: private, encrypted, TLS only, with lifecycle rules that clean up after interrupted
 * uploads (incomplete multipart uploads, and temporary objects of the store under `.incoming/`) and,
 * when versioned, after keep mode's state objects under `.state/`, whose superseded versions would
 * otherwise pile up run after run.
 */
export function bucketPropsWithDefaults(props: MailboxIngestionProps, keyPrefix: string): s3.BucketProps {
  const overrides = props.bucketProps ?? {};
  const versioned = overrides.versioned ?? props.versioned ?? DEFAULTS.versioned;
  const cleanup: s3.LifecycleRule[] = [
    { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: DEFAULTS.incompleteUploadExpiry },
    {
      id: 'expire-temporary-objects',
      prefix: incomingObjectsPattern(keyPrefix).slice(0, -1),
      expiration: DEFAULTS.incompleteUploadExpiry,
      // With versioning, a deleted temporary object stays as a noncurrent version: expire those too.
      ...(versioned ? { noncurrentVersionExpiration: DEFAULTS.incompleteUploadExpiry } : {}),
    },
    // Each keep-mode run replaces its state object: only the current version is ever read.
    ...(versioned
      ? [
          {
            id: 'expire-old-state-versions',
            prefix: stateObjectsPattern(keyPrefix).slice(0, -1),
            noncurrentVersionExpiration: DEFAULTS.stateVersionExpiry,
          },
        ]
      : []),
  ];
  const archive: s3.LifecycleRule[] = props.archive
    ? [
        {
          id: 'archive-messages',
          prefix: keyPrefix || undefined,
          transitions: [{ storageClass: props.archive.storageClass, transitionAfter: props.archive.after }],
        },
      ]
    : [];
  const encryption = props.kmsKey
    ? { encryption: s3.BucketEncryption.KMS, encryptionKey: props.kmsKey, bucketKeyEnabled: true }
    : { encryption: s3.BucketEncryption.S3_MANAGED };
  return {
    ...encryption,
    versioned,
    ...overrides,
    lifecycleRules: [...cleanup, ...archive, ...(overrides.lifecycleRules ?? [])],
    ...ENFORCED_BUCKET_PROPS,
  };
}
