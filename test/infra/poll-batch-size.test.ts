import { describe, expect, it } from 'vitest';
import { readPollEnv } from '../../lib/lambda/env.ts';
import { synth } from './synth-helpers.ts';

describe('MailboxIngestion: pollBatchSize', () => {
  it('sets the batch size of the poll event source', () => {
    const { template } = synth({ pollBatchSize: 1, maxConcurrency: 40 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 40 },
    });
  });

  it.each([0, 11, 2.5])('refuses %s: a FIFO event source takes 1 to 10 records', (size) => {
    expect(() => synth({ pollBatchSize: size })).toThrow(/pollBatchSize must be a whole number from 1 to 10/);
  });
});

describe('MailboxIngestion: perMailboxMetrics', () => {
  const pollEnvironment = (props: Parameters<typeof synth>[0]) => {
    const { template } = synth(props);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const poll = functions.find((fn) => fn.Properties.Environment.Variables.MESSAGE_BUCKET !== undefined);
    return poll!.Properties.Environment.Variables as Record<string, unknown>;
  };

  it('tells the poll function to publish no per-mailbox metrics by default: 7 custom metrics a mailbox', () => {
    expect(pollEnvironment({})['PER_MAILBOX_METRICS']).toBe('false');
  });

  it('turns them on when asked (small fleets)', () => {
    expect(pollEnvironment({ perMailboxMetrics: true })['PER_MAILBOX_METRICS']).toBe('true');
  });

  it('agrees with the poll function on the default when the variable is not set', () => {
    const env = pollEnvironment({});
    const { PER_MAILBOX_METRICS: _, ...unset } = env as Record<string, string>;
    expect(readPollEnv(unset).perMailboxMetrics).toBe(
      readPollEnv(env as Record<string, string>).perMailboxMetrics,
    );
    expect(readPollEnv(unset).perMailboxMetrics).toBe(false);
  });
});
