/**
 * The parse function's batch decisions (lib/lambda/parse-records.ts): a parse that could not finish fails
 * its record alone (the queue delivers it again), S3's test event and objects of another bucket are no
 * work, keys arrive URL-decoded, and the batch's counts become MessagesParsed and ParseFailures.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { MetricSet } from '../../../lib/lambda/metrics.ts';
import { type ParseRecordsDeps, processParseRecords } from '../../../lib/lambda/parse-records.ts';
import type { ParseStageResult } from '../../../lib/parsed/parse-stage.ts';

const record = (messageId: string, body: unknown): SQSRecord =>
  ({ messageId, body: JSON.stringify(body) }) as SQSRecord;
const created = (bucket: string, key: string) => ({
  Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key } } }],
});

function deps(parse: (key: string) => Promise<ParseStageResult>) {
  const metrics: MetricSet[] = [];
  const logged: string[] = [];
  const keys: string[] = [];
  const log = (message: string) => logged.push(message);
  const value: ParseRecordsDeps = {
    bucket: 'mail',
    service: 'svc',
    parse: (key) => {
      keys.push(key);
      return parse(key);
    },
    emitMetrics: (sets) => metrics.push(...sets),
    logger: { info: log, warn: log, error: log },
  };
  return { value, metrics, logged, keys };
}

describe('parse records', () => {
  it('fails only the record whose parse threw, and counts parsed and failed messages', async () => {
    const d = deps(async (key) => {
      if (key.includes('down')) throw new Error('S3 unreachable');
      return {
        kind: key.includes('bad') ? 'failed' : 'parsed',
        documentKey: `${key}.json`,
        mailboxId: 'box',
      };
    });
    const response = await processParseRecords(
      [
        record('1', created('mail', 'mail/box/uidl/a+b%25/ok.eml')),
        record('2', created('mail', 'mail/box/uidl/x/down.eml')),
        record('3', created('mail', 'mail/box/uidl/y/bad.eml')),
        record('4', { Service: 'Amazon S3', Event: 's3:TestEvent' }),
        record('5', created('elsewhere', 'mail/box/uidl/z/ok.eml')),
      ],
      d.value,
    );
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '2' }]);
    expect(d.keys).toEqual([
      'mail/box/uidl/a b%/ok.eml',
      'mail/box/uidl/x/down.eml',
      'mail/box/uidl/y/bad.eml',
    ]);
    expect(d.metrics).toEqual([
      {
        dimensionSets: [['Service']],
        dimensions: { Service: 'svc' },
        metrics: [
          { name: 'MessagesParsed', unit: 'Count', value: 1 },
          { name: 'ParseFailures', unit: 'Count', value: 1 },
        ],
      },
    ]);
  });

  it('fails a record whose body is not an S3 event', async () => {
    const d = deps(async () => ({ kind: 'ignored' }));
    const response = await processParseRecords([{ messageId: '9', body: 'not json' } as SQSRecord], d.value);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '9' }]);
  });
});
