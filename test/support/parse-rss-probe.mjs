/**
 * Runs the BUILT parse bundle's handler on one S3 event in a process of its own and reports the process's
 * peak resident set (getrusage maxRSS) as one JSON line on stdout, so the number is the parse's alone: no
 * test runner, and no S3 emulator holding the objects (it runs in the parent). Usage:
 * `node test/support/parse-rss-probe.mjs '<json>'` (plain JavaScript: no TypeScript loader in the
 * measured process) with the AWS endpoint and the function's
 * variables in the environment.
 */
import { pathToFileURL } from 'node:url';

/** @type {{ bundle: string, bucket: string, key: string }} */
const input = JSON.parse(process.argv[2] ?? '{}');
const { handler } = await import(pathToFileURL(input.bundle).href);
// Loaded and initialised: what the parse adds is measured from here.
const baselineRssBytes = process.memoryUsage().rss;
const body = JSON.stringify({
  Records: [
    {
      eventName: 'ObjectCreated:CompleteMultipartUpload',
      s3: { bucket: { name: input.bucket }, object: { key: input.key } },
    },
  ],
});
const endsAt = Date.now() + 300_000;
const context = {
  functionName: 'parse',
  awsRequestId: 'probe',
  getRemainingTimeInMillis: () => endsAt - Date.now(),
};
const response = await handler(
  {
    Records: [
      {
        messageId: 'probe',
        receiptHandle: 'probe',
        body,
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: '0',
          SenderId: 'S3',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:parse',
        awsRegion: 'us-east-1',
      },
    ],
  },
  context,
);
// maxRSS is in kibibytes on Linux.
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
process.stderr.write('\n');
process.stdout.write(
  `PROBE ${JSON.stringify({ maxRssBytes, baselineRssBytes, failures: response.batchItemFailures.length })}\n`,
);
