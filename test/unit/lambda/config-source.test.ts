import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createSsmClient, ParameterReadError, readSsmParameter } from '../../../lib/lambda/config-readers.ts';
import {
  ConfigLocationError,
  configLocationFromEnv,
  configVersionOf,
  readConfigDocument,
} from '../../../lib/lambda/config-source.ts';
import { EnvError, pollBudgetMs, readDispatchEnv, readPollEnv } from '../../../lib/lambda/env.ts';

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

  it('parses the document and gives the SHA-256 of its text as its version', async () => {
    const text = '{"mailboxes": []}';
    const readers = { readS3Object: async () => text, readSsmParameter: async () => text };
    const read = await readConfigDocument({ kind: 's3', bucket: 'b', key: 'k' }, readers);
    expect(read).toEqual({ document: { mailboxes: [] }, version: configVersionOf(text) });
    expect(read.version).toBe(createHash('sha256').update(text).digest('hex'));
    expect(configVersionOf(`${text} `)).not.toBe(read.version);
  });

  it('names the location, line and column of a syntax error, and quotes none of the text', async () => {
    const secret = 'hunter2';
    // JSON.parse's own message would quote the text around the error, the password with it.
    const text = `{"mailboxes": [{"password": {"literal": ${secret}}}]}`;
    expect(jsonErrorOf(text)).toContain(secret);
    const readers = { readS3Object: async () => text, readSsmParameter: async () => text };
    const read = readConfigDocument({ kind: 'ssm', parameterName: '/p' }, readers);
    await expect(read).rejects.toThrow(ConfigLocationError);
    const error = (await read.catch((caught: unknown) => caught)) as Error;
    expect(error.message).toMatch(/^config at ssm:\/p is not valid JSON: line 1, column \d+: /);
    expect(error.message).not.toContain(secret);
    expect(error.cause).toBeUndefined();
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
    expect(() =>
      readPollEnv({ CONFIG_PARAMETER: '/p', NOTIFICATION_QUEUE_URL: 'n', JOB_QUEUE_URL: 'j' }),
    ).toThrow(new EnvError('environment variable MESSAGE_BUCKET is not set'));
  });

  it('rejects a period that is not a positive integer', () => {
    expect(() =>
      readDispatchEnv({ CONFIG_PARAMETER: '/p', JOB_QUEUE_URL: 'q', SCHEDULE_PERIOD_SECONDS: '5m' }),
    ).toThrow(/SCHEDULE_PERIOD_SECONDS/);
  });

  it('gives the poll function the same config location as the dispatch function', () => {
    const env = {
      CONFIG_BUCKET: 'cfg',
      CONFIG_KEY: 'mailboxes.json',
      MESSAGE_BUCKET: 'mail',
      NOTIFICATION_QUEUE_URL: 'n',
      JOB_QUEUE_URL: 'j',
    };
    expect(readPollEnv(env).configLocation).toEqual(readDispatchEnv(env).configLocation);
    expect(() =>
      readPollEnv({ MESSAGE_BUCKET: 'mail', NOTIFICATION_QUEUE_URL: 'n', JOB_QUEUE_URL: 'j' }),
    ).toThrow(/no config location/);
  });

  it('keeps a safety margin from the Lambda timeout, never going negative', () => {
    expect(pollBudgetMs(300_000)).toBe(290_000);
    expect(pollBudgetMs(3_000)).toBe(0);
  });
});
