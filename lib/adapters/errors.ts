/**
 * The errors the S3 message store throws, in one place: one class tells what to do next (the object
 * under the key is another message: inspect it), the other carries the bucket and key of any failed
 * request. The `name`s are written out, not taken from the class, so that bundling keeps them. Errors
 * the pipeline acts on (StateConflictError, StateTooLargeError) are the ports' and live in lib/ports.ts.
 */

/** An S3 request failed; the message names the bucket and key, `cause` holds the SDK error. */
export class S3MessageStoreError extends Error {
  override readonly name: string = 'S3MessageStoreError';
  constructor(
    message: string,
    readonly bucket: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The object under this message's key is not this message: its SHA-256 differs from the one the key
 * names. Nothing was overwritten or deleted, and the message was not committed (no DELE): it stays on the
 * server. Something else wrote or changed the object; inspect it and move it away (or restore it), and
 * the next run stores the message. Until then every run fails this message the same way.
 */
export class S3ObjectMismatchError extends S3MessageStoreError {
  override readonly name: string = 'S3ObjectMismatchError';
  constructor(bucket: string, key: string, found: string) {
    super(
      `s3://${bucket}/${key} already exists but is not this message (${found}); it was left as it is and ` +
        'the message stays on the server: inspect the object and move it away, then the next run stores it',
      bucket,
      key,
    );
  }
}

/** An S3MessageStoreError whose message starts with the object's s3:// address. */
export function storeError(
  bucket: string,
  key: string,
  problem: string,
  cause?: unknown,
): S3MessageStoreError {
  const options = cause === undefined ? undefined : { cause };
  return new S3MessageStoreError(`s3://${bucket}/${key}: ${problem}`, bucket, key, options);
}
