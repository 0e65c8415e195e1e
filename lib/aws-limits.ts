/**
 * Limits of the AWS services the product talks to, each with its source. One home, so that the notifier,
 * the notification builder and the job queue never disagree (RFC limits of POP3 live in lib/pop3/limits.ts).
 */

/** SendMessageBatch: at most 10 entries per call (SQS quotas, "Messages per batch"). */
export const SQS_MAX_BATCH_ENTRIES = 10;

/**
 * The largest message (body plus message attributes) and the largest SendMessageBatch payload that
 * SQS itself accepts: 1 MiB since August 2025 (SQS quotas, "Message size").
 */
export const SQS_MAX_PAYLOAD_BYTES = 1_048_576;

/**
 * What every queue accepts: 256 KiB was the SQS maximum until August 2025 and stays the `MaximumMessageSize`
 * of queues created before then or configured so. Notifications and jobs are sized to this, so they fit
 * any queue a user points us at.
 */
export const SQS_PORTABLE_MESSAGE_BYTES = 256 * 1024;

/** MessageDeduplicationId and MessageGroupId: at most 128 characters. */
export const SQS_MAX_DEDUPLICATION_ID_LENGTH = 128;

/** ChangeMessageVisibility: at most 12 hours. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The largest SecretString (and SecretBinary) one version of a Secrets Manager secret holds: 65,536 bytes
 * (Secrets Manager quotas, "Secret value size"). A fleet secret (one JSON field per mailbox,
 * lib/config/fleet-secret.ts) must fit in it; measured here as UTF-8 bytes, the stricter reading.
 */
export const SECRETS_MANAGER_MAX_SECRET_BYTES = 65_536;

/** PutEvents: at most 10 entries per call (PutEvents API reference, `Entries`, "Array Members: 1 to 10"). */
export const EVENTBRIDGE_MAX_BATCH_ENTRIES = 10;

/**
 * The largest PutEvents entry: 256 KB (EventBridge User Guide, "Calculating PutEvents event entry size"),
 * counted the way that page documents (lib/adapters/eventbridge-notifier.ts `putEventsEntryBytes`): 14
 * bytes for `Time` if given, the UTF-8 bytes of `Source`, `DetailType`, `Detail` and of each `Resources`
 * entry. The same page says "the total entry size must be less than 256KB" of a batch: requests are packed
 * to this total too, the stricter reading.
 */
export const EVENTBRIDGE_MAX_ENTRY_BYTES = 256 * 1024;

/**
 * User-defined object metadata: at most 2 KB, the sum of the UTF-8 bytes of every key (without
 * `x-amz-meta-`) and value (S3 User Guide, "Working with object metadata"). Values travel as HTTP
 * headers, so only ASCII survives unchanged.
 */
export const S3_USER_METADATA_MAX_BYTES = 2048;
