/**
 * The optional parse stage on the synthesized template: absent by default; with `parsedMail`, a parse
 * function no larger than the poll function, fed by S3 events of raw `.eml` keys (per mailbox prefix when
 * mailboxes are named) through a queue with a DLQ, that reads raw messages, writes parsed objects only,
 * and sends its events to a parsed queue with a DLQ.
 */
import { Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { PARSE_ENV } from '../../lib/lambda/env-names.ts';
import { getAtt, statementsOf, synth } from './synth-helpers.ts';

const PARSE_FUNCTION = { Properties: { Description: Match.stringLikeRegexp('^Parses each stored message') } };

describe('parse stage', () => {
  it('is absent by default', () => {
    const { template, ingestion } = synth();
    expect(ingestion.parseStage).toBeUndefined();
    expect(ingestion.parsedQueue).toBeUndefined();
    expect(template.findResources('AWS::Lambda::Function', PARSE_FUNCTION)).toEqual({});
    template.resourceCountIs('Custom::S3BucketNotifications', 0);
    template.resourceCountIs('AWS::SQS::Queue', 4);
  });

  it('when enabled: function, event queue and parsed queue with DLQs, S3 events of .eml keys', () => {
    const { template, ingestion, stack } = synth({ parsedMail: true });
    const stage = ingestion.parseStage!;
    expect(ingestion.parsedQueue).toBe(stage.parsedQueue);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Parses each stored message'),
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({
          MESSAGE_BUCKET: { Ref: Match.anyValue() },
          KEY_PREFIX: 'mail/',
          PARSED_QUEUE_URL: { Ref: Match.stringLikeRegexp('ParsedQueue') },
        }),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: getAtt(stack, stage.eventDeadLetterQueue), maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: getAtt(stack, stage.parsedDeadLetterQueue), maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(stack, stage.eventQueue),
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            QueueArn: getAtt(stack, stage.eventQueue),
            Filter: {
              Key: {
                FilterRules: Match.arrayWith([
                  { Name: 'suffix', Value: '.eml' },
                  { Name: 'prefix', Value: 'mail/' },
                ]),
              },
            },
          },
        ],
      },
    });
  });

  it('gives the parse function every variable it requires and none it does not read', () => {
    const { template } = synth({ parsedMail: true });
    const [parse] = Object.values(template.findResources('AWS::Lambda::Function', PARSE_FUNCTION));
    const names = Object.keys(parse!['Properties'].Environment.Variables);
    for (const required of PARSE_ENV.required) expect(names).toContain(required);
    expect(
      names.filter((name) => ![...PARSE_ENV.required, ...PARSE_ENV.optional].includes(name as never)),
    ).toEqual([]);
  });

  it('grants read of raw messages, writes under *.parsed/ only, and sends to the parsed queue only', () => {
    const { template, ingestion, stack } = synth({ parsedMail: true });
    const statements = statementsOf(template, stack, ingestion.parseStage!.parseFunction.role);
    const objects = (action: string) =>
      statements
        .filter((s: { Action: string | string[] }) => [s.Action].flat().includes(action))
        .map((s: { Resource: unknown }) => JSON.stringify(s.Resource));
    expect(objects('s3:GetObject')).toEqual([expect.stringContaining('/mail/*.eml')]);
    expect(objects('s3:PutObject')).toEqual([expect.stringContaining('/mail/*.parsed/*')]);
    expect(objects('s3:DeleteObject')).toEqual([]);
    expect(objects('sqs:SendMessage')).toEqual([
      JSON.stringify(getAtt(stack, ingestion.parseStage!.parsedQueue)),
    ]);
  });

  it('raises an alarm, to the alarm action, when a parse failed for good', () => {
    const { template } = synth({ parsedMail: true }, (s) => ({
      alarmAction: new sns.Topic(s, 'Ops'),
    }));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('parse failed for good'),
      Dimensions: [{ Name: 'QueueName', Value: Match.anyValue() }],
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Ops') }],
    });
  });

  it('with mailboxIds, one S3 event filter per mailbox prefix', () => {
    const { template } = synth({ parsedMail: { mailboxIds: ['support', 'invoices'] } });
    const [notifications] = Object.values(template.findResources('Custom::S3BucketNotifications'));
    const prefixes = notifications!['Properties'].NotificationConfiguration.QueueConfigurations.map(
      (configuration: { Filter: { Key: { FilterRules: { Name: string; Value: string }[] } } }) =>
        configuration.Filter.Key.FilterRules.find((rule) => rule.Name === 'prefix')?.Value,
    );
    expect(prefixes.sort()).toEqual(['mail/invoices/', 'mail/support/']);
  });

  it('never gives the parse function more memory than the poll function', () => {
    expect(() => synth({ pollMemorySize: 256, parsedMail: { memorySize: 512 } })).toThrow(
      /more than pollMemorySize/,
    );
    const { template } = synth({ pollMemorySize: 256, parsedMail: true });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Parses each stored message'),
      MemorySize: 256,
    });
  });
});
