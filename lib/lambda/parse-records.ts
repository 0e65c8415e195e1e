/**
 * The parse function's batch (docs/parsed-mail.md): each SQS record is one S3 event naming stored
 * messages; each is parsed by lib/parsed/parse-stage.ts. A record whose parse could not finish (S3 or SQS
 * unreachable, the deadline) is reported as a batch item failure, so the queue delivers it again and,
 * after the redrive count, moves it to the stage's DLQ; the others are not run again. A message the parser
 * gives up on is not such a failure: its document says why, and it is counted in ParseFailures.
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { ParseStageResult } from '../parsed/parse-stage.ts';
import { createdObjectsOf } from '../parsed/s3-events.ts';
import type { RunLogger } from './logger.ts';
import { METRIC_DIMENSIONS, METRIC_NAMES } from './metric-names.ts';
import type { MetricSet } from './metrics.ts';

export interface ParseRecordsDeps {
  /** The message bucket: events of any other bucket are logged and dropped. */
  readonly bucket: string;
  readonly service: string;
  parse(rawKey: string): Promise<ParseStageResult>;
  emitMetrics(sets: readonly MetricSet[]): void;
  readonly logger: RunLogger;
}

export async function processParseRecords(
  records: readonly SQSRecord[],
  deps: ParseRecordsDeps,
): Promise<SQSBatchResponse> {
  const failures: SQSBatchResponse['batchItemFailures'] = [];
  const counts = { parsed: 0, failed: 0 };
  for (const record of records) {
    try {
      for (const object of createdObjectsOf(record.body)) {
        if (object.bucket !== deps.bucket) {
          deps.logger.warn('S3 event of another bucket dropped', { bucket: object.bucket, key: object.key });
          continue;
        }
        const result = await deps.parse(object.key);
        if (result.kind === 'ignored') continue;
        counts[result.kind]++;
        const log = result.kind === 'failed' ? deps.logger.warn : deps.logger.info;
        log(`message ${result.kind}`, { mailboxId: result.mailboxId, documentKey: result.documentKey });
      }
    } catch (error) {
      deps.logger.error('parse failed; the event will be delivered again', {
        messageId: record.messageId,
        error,
      });
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  deps.emitMetrics([parseMetrics(deps.service, counts)]);
  return { batchItemFailures: failures };
}

export function parseMetrics(service: string, counts: { parsed: number; failed: number }): MetricSet {
  return {
    dimensionSets: [[METRIC_DIMENSIONS.service]],
    dimensions: { [METRIC_DIMENSIONS.service]: service },
    metrics: [
      { name: METRIC_NAMES.messagesParsed, unit: 'Count', value: counts.parsed },
      { name: METRIC_NAMES.parseFailures, unit: 'Count', value: counts.failed },
    ],
  };
}
