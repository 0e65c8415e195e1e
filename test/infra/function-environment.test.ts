/**
 * The environment the construct gives each function against what the function reads (the names in
 * lib/lambda/env-names.ts): nothing set that no one reads, nothing required left unset, exactly one config
 * location. And env.ts does refuse to start without each name the list calls required.
 */

import type { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { ConfigLocation } from '../../infra/mailbox-ingestion.ts';
import { EnvError, readDispatchEnv, readPollEnv } from '../../lib/lambda/env.ts';
import { CONFIG_LOCATION_ENV, DISPATCH_ENV, type FunctionEnv, POLL_ENV } from '../../lib/lambda/env-names.ts';
import { synth } from './synth-helpers.ts';

/** The variable names the template sets on the function whose logical id starts with `prefix`. */
function variablesOf(template: Template, prefix: string): string[] {
  const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith(prefix),
  );
  expect(functions).toHaveLength(1);
  return Object.keys(functions[0]![1]['Properties'].Environment.Variables).sort();
}

function expectMatches(variables: readonly string[], reads: FunctionEnv): void {
  const configSets = CONFIG_LOCATION_ENV.filter((set) => set.every((name) => variables.includes(name)));
  expect(configSets).toHaveLength(1);
  const atLeastOne = reads.atLeastOne ?? [];
  const known = new Set<string>([
    ...reads.required,
    ...reads.optional,
    ...atLeastOne,
    ...CONFIG_LOCATION_ENV.flat(),
  ]);
  expect(variables.filter((name) => !known.has(name))).toEqual([]);
  expect(reads.required.filter((name) => !variables.includes(name))).toEqual([]);
  if (atLeastOne.length > 0) expect(atLeastOne.filter((name) => variables.includes(name))).not.toEqual([]);
  const chosen: readonly string[] = configSets[0]!;
  const otherConfig: readonly string[] = CONFIG_LOCATION_ENV.flat().filter((name) => !chosen.includes(name));
  expect(variables.filter((name) => otherConfig.includes(name))).toEqual([]);
}

const configs = {
  'an inline config (SSM parameter)': () => synth(),
  'an event bus alone': () =>
    synth({ notificationQueueEnabled: false }, (stack) => ({ eventBus: new events.EventBus(stack, 'Bus') })),
  'a config object in S3': () =>
    synth({}, (stack) => ({
      mailboxes: undefined,
      secretArns: ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:mail/support-AbCdEf'],
      configLocation: ConfigLocation.fromBucket(new s3.Bucket(stack, 'ConfigBucket'), 'mailboxes.json'),
    })),
};

describe.each(Object.entries(configs))('function environment with %s', (_, synthesize) => {
  const { template } = synthesize();

  it('sets on the dispatch function only what it reads, and all it requires', () => {
    expectMatches(variablesOf(template, 'MailDispatchFunction'), DISPATCH_ENV);
  });

  it('sets on the poll function only what it reads, and all it requires', () => {
    expectMatches(variablesOf(template, 'MailPollFunction'), POLL_ENV);
  });
});

describe('the required names are the ones env.ts requires', () => {
  const complete = (names: readonly string[]) =>
    Object.fromEntries([...names, 'CONFIG_PARAMETER'].map((name) => [name, 'x']));

  it.each([
    ['dispatch', DISPATCH_ENV, readDispatchEnv],
    ['poll', POLL_ENV, readPollEnv],
  ] as const)('%s: starts with the required names alone, and names each one missing', (_, reads, read) => {
    const oneTarget = (reads.atLeastOne ?? []).slice(0, 1);
    expect(() => read(complete([...reads.required, ...oneTarget]))).not.toThrow();
    for (const name of reads.required) {
      const env = complete([...reads.required.filter((other) => other !== name), ...oneTarget]);
      expect(() => read(env)).toThrow(EnvError);
      expect(() => read(env)).toThrow(name);
    }
  });

  it('poll: starts with any one of its notification targets, and names them all when none is set', () => {
    const targets = POLL_ENV.atLeastOne ?? [];
    expect(targets).toEqual(['NOTIFICATION_QUEUE_URL', 'EVENT_BUS_NAME']);
    for (const target of targets)
      expect(() => readPollEnv(complete([...POLL_ENV.required, target]))).not.toThrow();
    const none = () => readPollEnv(complete(POLL_ENV.required));
    expect(none).toThrow(EnvError);
    for (const target of targets) expect(none).toThrow(target);
  });
});
