/**
 * The objects an S3 event notification names, as the parse stage's queue delivers it (one SQS message per
 * notification, its body the S3 event JSON). S3 URL-encodes object keys in events (a space as `+`), so
 * they are decoded here. The test event S3 sends when the notification is set up names no object.
 */

export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
}

interface S3EventBody {
  readonly Records?: readonly {
    readonly eventName?: string;
    readonly s3?: {
      readonly bucket?: { readonly name?: string };
      readonly object?: { readonly key?: string };
    };
  }[];
}

/** Throws on a body that is not JSON: the record then fails and, after the retries, reaches the DLQ. */
export function createdObjectsOf(body: string): CreatedObject[] {
  const event = JSON.parse(body) as S3EventBody;
  const objects: CreatedObject[] = [];
  for (const record of event.Records ?? []) {
    if (!record.eventName?.startsWith('ObjectCreated:')) continue;
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (bucket === undefined || key === undefined) continue;
    objects.push({ bucket, key: decodeURIComponent(key.replaceAll('+', ' ')) });
  }
  return objects;
}
