/** The SQS record S3 puts on a queue for one new object, as the parse function receives it. */
import type { SQSRecord } from 'aws-lambda';

/** `key` is URL-encoded as S3 encodes it in event notifications (spaces as `+`). */
export function s3ObjectCreatedRecord(bucket: string, key: string, index: number): SQSRecord {
  const encoded = encodeURIComponent(key).replaceAll('%2F', '/').replaceAll('%20', '+');
  return {
    messageId: `m-${index}`,
    receiptHandle: `r-${index}`,
    body: JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: bucket }, object: { key: encoded } },
        },
      ],
    }),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'S3',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:parse',
    awsRegion: 'us-east-1',
  };
}
