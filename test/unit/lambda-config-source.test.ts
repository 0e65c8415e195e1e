import { describe, expect, it } from 'vitest';
import {
  ConfigLocationError,
  configLocationFromEnv,
  readConfigDocument,
} from '../../lib/lambda/config-source.ts';
import { EnvError, pollBudgetMs, readDispatchEnv, readPollEnv } from '../../lib/lambda/env.ts';
import { ParameterReadError, readSsmParameter } from '../../lib/lambda/ssm-parameter.ts';

describe('where the dispatch function finds the config', () => {
  it('reads an S3 object when CONFIG_BUCKET and CONFIG_KEY are set', () => {
    expect(configLocationFromEnv({ CONFIG_BUCKET: 'cfg', CONFIG_KEY: 'mailboxes.json' })).toEqual({
      kind: 's3',
      bucket: 'cfg',
      key: 'mailboxes.json',
    });
  });

  it('reads an SSM parameter when CONFIG_PARAMETER is set', () => {
    expect(configLocationFromEnv({ CONFIG_PARAMETER: '/poller/config' })).toEqual({
      kind: 'ssm',
      parameterName: '/poller/config',
    });
  });

  it.each([
    [{}, /no config location/],
    [{ CONFIG_BUCKET: 'cfg' }, /must be set together/],
    [{ CONFIG_BUCKET: 'cfg', CONFIG_KEY: 'k', CONFIG_PARAMETER: '/p' }, /not both/],
  ])('refuses %j', (env, message) => {
    expect(() => configLocationFromEnv(env)).toThrow(message);
  });

  it('parses the document and names the location when it is not JSON', async () => {
    const readers = {
      readS3Object: async () => '{"mailboxes": []}',
      readSsmParameter: async () => 'mailboxes:',
    };
    await expect(readConfigDocument({ kind: 's3', bucket: 'b', key: 'k' }, readers)).resolves.toEqual({
      mailboxes: [],
    });
    await expect(readConfigDocument({ kind: 'ssm', parameterName: '/p' }, readers)).rejects.toThrow(
      new ConfigLocationError('config at ssm:/p is not valid JSON: ' + jsonErrorOf('mailboxes:')),
    );
  });
});

function jsonErrorOf(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('reading an SSM parameter', () => {
  const awsConfig = {
    region: async () => 'eu-west-1',
    credentials: async () => ({
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
    }),
  };

  it('sends one SigV4-signed GetParameter call with decryption and returns the value', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(JSON.stringify({ Parameter: { Name: '/p', Value: '{"mailboxes":[]}' } }));
    }) as unknown as typeof fetch;
    const value = await readSsmParameter('/p', awsConfig as never, fakeFetch);
    expect(value).toBe('{"mailboxes":[]}');
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0]!;
    expect(url).toBe('https://ssm.eu-west-1.amazonaws.com/');
    expect(JSON.parse(String(init.body))).toEqual({ Name: '/p', WithDecryption: true });
    const headers = init.headers as Record<string, string>;
    expect(headers['x-amz-target']).toBe('AmazonSSM.GetParameter');
    expect(headers['x-amz-security-token']).toBe('token');
    expect(headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssm\/aws4_request, SignedHeaders=[^,]*x-amz-target[^,]*, Signature=[0-9a-f]{64}$/,
    );
  });

  it('reports the error code, never the response body', async () => {
    const fakeFetch = (async () =>
      new Response(JSON.stringify({ __type: 'com.amazonaws#ParameterNotFound', message: 'echo' }), {
        status: 400,
      })) as unknown as typeof fetch;
    const read = readSsmParameter('/missing', awsConfig as never, fakeFetch);
    await expect(read).rejects.toThrow(ParameterReadError);
    await expect(read).rejects.toThrow('SSM GetParameter /missing failed: HTTP 400 ParameterNotFound');
  });
});

describe('function environment', () => {
  it('reads the dispatch settings, with a 5-minute default period', () => {
    expect(readDispatchEnv({ CONFIG_PARAMETER: '/p', JOB_QUEUE_URL: 'https://q' })).toEqual({
      configLocation: { kind: 'ssm', parameterName: '/p' },
      jobQueueUrl: 'https://q',
      schedulePeriodSeconds: 300,
    });
  });

  it('names a missing variable', () => {
    expect(() => readPollEnv({ NOTIFICATION_QUEUE_URL: 'n', JOB_QUEUE_URL: 'j' })).toThrow(
      new EnvError('environment variable MESSAGE_BUCKET is not set'),
    );
  });

  it('rejects a period that is not a positive integer', () => {
    expect(() =>
      readDispatchEnv({ CONFIG_PARAMETER: '/p', JOB_QUEUE_URL: 'q', SCHEDULE_PERIOD_SECONDS: '5m' }),
    ).toThrow(/SCHEDULE_PERIOD_SECONDS/);
  });

  it('keeps a safety margin from the Lambda timeout, never going negative', () => {
    expect(pollBudgetMs(300_000)).toBe(290_000);
    expect(pollBudgetMs(3_000)).toBe(0);
  });
});
