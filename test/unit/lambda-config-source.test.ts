import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  ConfigLocationError,
  configLocationFromEnv,
  readConfigDocument,
} from '../../lib/lambda/config-source.ts';
import { EnvError, pollBudgetMs, readDispatchEnv, readPollEnv } from '../../lib/lambda/env.ts';
import { createSsmClient, ParameterReadError, readSsmParameter } from '../../lib/lambda/ssm-parameter.ts';

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
  /** A stand-in SSM endpoint: answers GetParameter from `parameters`, ParameterNotFound otherwise. */
  async function ssmEndpoint(parameters: Record<string, string>) {
    const requests: { target: string | undefined; authorization: string | undefined; body: unknown }[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Name: string };
        requests.push({
          target: request.headers['x-amz-target'] as string | undefined,
          authorization: request.headers.authorization,
          body,
        });
        const value = parameters[body.Name];
        response.setHeader('content-type', 'application/x-amz-json-1.1');
        if (value === undefined) {
          response.statusCode = 400;
          response.end(JSON.stringify({ __type: 'ParameterNotFound', message: `echo ${body.Name}` }));
        } else {
          response.end(
            JSON.stringify({ Parameter: { Name: body.Name, Type: 'SecureString', Value: value } }),
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = createSsmClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    return {
      client,
      requests,
      close: () => {
        client.destroy();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  it('sends one signed GetParameter call with decryption and returns the value', async () => {
    const ssm = await ssmEndpoint({ '/p': '{"mailboxes":[]}' });
    try {
      expect(await readSsmParameter('/p', ssm.client)).toBe('{"mailboxes":[]}');
      expect(ssm.requests).toEqual([
        {
          target: 'AmazonSSM.GetParameter',
          authorization: expect.stringMatching(
            /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/ssm\/aws4_request, /,
          ),
          body: { Name: '/p', WithDecryption: true },
        },
      ]);
    } finally {
      await ssm.close();
    }
  });

  it('names the parameter and the error code', async () => {
    const ssm = await ssmEndpoint({});
    try {
      const read = readSsmParameter('/missing', ssm.client);
      await expect(read).rejects.toThrow(ParameterReadError);
      await expect(read).rejects.toThrow('SSM GetParameter /missing failed: HTTP 400 ParameterNotFound');
    } finally {
      await ssm.close();
    }
  });

  it('refuses a parameter without a value', async () => {
    const client = { send: async () => ({ Parameter: { Name: '/empty' }, $metadata: {} }) };
    await expect(readSsmParameter('/empty', client)).rejects.toThrow('SSM parameter /empty has no value');
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
