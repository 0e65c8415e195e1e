/**
 * Errors that cross the token boundary carry no response body, token, secret or JWT anywhere in their
 * cause chain (a logger prints every enumerable property of every cause), and a 200 answer refused for
 * another field still has its rotated refresh token written back, or the error says the stored one may
 * be spent. Against the test token endpoint, through oauth4webapi.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrubbedError } from '../../../lib/oauth/scrubbed-error.ts';
import { OAuth2Tokens } from '../../../lib/oauth/token-provider.ts';
import type { OAuth2SecretStore } from '../../../lib/oauth/write-back.ts';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import type { OAuth2SecretRef } from '../../../lib/ports.ts';
import { type MalformedBody, startTokenEndpoint, type TokenEndpoint } from '../../support/token-endpoint.ts';

const APP = { clientId: 'app', clientSecret: 'app-secret-0123456789' };
let endpoint: TokenEndpoint;

beforeAll(async () => {
  endpoint = await startTokenEndpoint({ clients: [APP, { clientId: 'public' }] });
});
afterAll(() => endpoint.close());

function store(document: object, failWrites = false) {
  let text = JSON.stringify(document);
  const oauth2: OAuth2SecretStore = {
    read: async () => ({ text, version: text }),
    write: async (_, next, expected) => {
      if (failWrites) throw new Error('AccessDeniedException: not authorized to perform PutSecretValue');
      if (expected.text !== text) return 'conflict';
      text = next;
      return 'written';
    },
  };
  return { oauth2, stored: () => JSON.parse(text) as { refreshToken?: string } };
}

const refreshRef: OAuth2SecretRef = { grant: 'refresh_token', secret: { secretId: 'doc' } };

/** The error as Powertools prints it in a log line (name, message, stack, cause chain, every property). */
function logged(error: unknown): string {
  const lines: string[] = [];
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const keep = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stdout.write = keep;
  process.stderr.write = keep;
  try {
    new Logger({ serviceName: 'test' }).error('mailbox run failed', { error });
  } finally {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
  }
  return lines.join('');
}

/** Every key of every error in the chain, enumerable or not. */
function chainKeys(error: unknown): string[] {
  const keys: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 20; e = e.cause, depth++) {
    keys.push(...Object.getOwnPropertyNames(e));
    if (e.cause !== undefined && !(e.cause instanceof Error)) keys.push('non-error cause');
  }
  return keys;
}

describe('a 200 answer oauth4webapi refuses, refresh_token grant', () => {
  for (const how of ['scope-array', 'no-token-type', 'unknown-token-type'] satisfies MalformedBody[]) {
    it(`${how}: no token in the error or its log line; the rotated refresh token is written back`, async () => {
      const spent = endpoint.grantRefreshToken('u', 'public', 'pop');
      const { oauth2, stored } = store({
        grant: 'refresh_token',
        clientId: 'public',
        refreshToken: spent,
        scope: 'pop',
        tokenUrl: endpoint.tokenUrl,
      });
      endpoint.malformNext(how);
      const error = await new OAuth2Tokens({ store: oauth2 })
        .token(refreshRef, Date.now())
        .catch((e: unknown) => e);
      const rotated = stored().refreshToken ?? '';
      expect(rotated).not.toBe(spent);
      expect(endpoint.isRefreshTokenValid(rotated)).toBe(true);
      expect(classifyFailure(error)).toMatchObject({ status: 'failed', reason: 'credentials' });
      expect((error as Error).message).toContain('not a valid token response');
      expect((error as Error).message).toContain('was written back to secret "doc"');
      const line = logged(error);
      expect(line).toContain('mailbox run failed');
      expect(line).toContain('OperationProcessingError'.slice(0, how === 'scope-array' ? 24 : 0));
      for (const text of [rotated, spent, 'rt-', 'eyJ', 'access_token', '"body"', '"response"'])
        expect(line).not.toContain(text);
      expect(chainKeys(error)).not.toContain('body');
      expect(chainKeys(error)).not.toContain('response');
      expect(chainKeys(error)).not.toContain('non-error cause');
    });
  }

  it('a rotated refresh token that cannot be written back: the error says the stored one may be spent', async () => {
    const spent = endpoint.grantRefreshToken('u', 'public', 'pop');
    const { oauth2 } = store(
      {
        grant: 'refresh_token',
        clientId: 'public',
        refreshToken: spent,
        scope: 'pop',
        tokenUrl: endpoint.tokenUrl,
      },
      true,
    );
    endpoint.malformNext('scope-array');
    const error = await new OAuth2Tokens({ store: oauth2 })
      .token(refreshRef, Date.now())
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/could NOT be written back .*may now be spent/);
    expect((error as Error).message).toContain('oauth login');
    expect(endpoint.isRefreshTokenValid(spent)).toBe(false);
    const line = logged(error);
    for (const text of [spent, 'rt-', 'eyJ', 'access_token']) expect(line).not.toContain(text);
  });
});

describe('a 200 answer whose rotated refresh token is no string', () => {
  it('the error says the stored refresh token may now be spent; nothing of the body is logged', async () => {
    const spent = endpoint.grantRefreshToken('u', 'public', 'pop');
    const { oauth2, stored } = store({
      grant: 'refresh_token',
      clientId: 'public',
      refreshToken: spent,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    endpoint.malformNext('refresh-token-number');
    const error = await new OAuth2Tokens({ store: oauth2 })
      .token(refreshRef, Date.now())
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/refresh_token field is no usable token.*may now be spent/);
    expect(stored().refreshToken).toBe(spent);
    for (const text of [spent, 'rt-', 'eyJ', 'access_token']) expect(logged(error)).not.toContain(text);
  });
});

describe('errors of the client-credentials grant and of the endpoint', () => {
  it('a refused 200 body: the class names and the library message stay, the body and the secret go', async () => {
    const { oauth2 } = store({
      grant: 'client_credentials',
      ...APP,
      scope: 'pop',
      tokenUrl: endpoint.tokenUrl,
    });
    endpoint.malformNext('no-token-type');
    const error = await new OAuth2Tokens({ store: oauth2 })
      .token({ grant: 'client_credentials', secret: { secretId: 'cc' } }, Date.now())
      .catch((e: unknown) => e);
    const line = logged(error);
    expect(line).toContain('"name":"CredentialsError"');
    expect(line).toContain('"name":"OperationProcessingError"');
    expect(line).toContain('token_type');
    expect(line).toContain('OAUTH_INVALID_RESPONSE');
    for (const text of ['eyJ', 'access_token', APP.clientSecret, '"body"']) expect(line).not.toContain(text);
  });

  it('an error body: the endpoint error code and description stay, quoted and cut; tokens in it go', () => {
    const jwtText = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln';
    const body = {
      error: 'invalid_scope',
      error_description: `scope refused\u001b[31m for ${jwtText} ${'x'.repeat(400)}`,
      refresh_token: 'rt-echoed-back-0123',
    };
    const inner = Object.assign(new Error('server responded with an error in the response body'), {
      name: 'ResponseBodyError',
      cause: body,
      error: body.error,
      error_description: body.error_description,
      status: 400,
      response: { body: JSON.stringify(body) },
    });
    const outer = Object.assign(new Error(`refused: ${jwtText}`, { cause: inner }), { token: 'rt-x' });
    const line = logged(scrubbedError(outer, ['rt-echoed-back-0123']));
    expect(line).toContain('"error":"invalid_scope"');
    expect(line).toContain('scope refused [31m for [jwt removed]');
    expect(line).toContain('"status":400');
    expect(line).toMatch(/x+…"/);
    expect(line).not.toMatch(/x{200}/);
    for (const text of [jwtText, 'rt-', '"response"', '"token"', '\\u001b']) expect(line).not.toContain(text);
  });

  it('a JSON parse failure: the parser message (which quotes the body) is not kept', async () => {
    const syntax = (() => {
      try {
        // A form-encoded answer: the parser's message quotes its start.
        JSON.parse('rt-form-encoded-refresh-token&access_token=x');
      } catch (error) {
        return error;
      }
    })();
    const line = logged(scrubbedError(new Error('not a token response', { cause: syntax }), []));
    expect(line).toContain('"name":"SyntaxError"');
    expect(line).not.toContain('rt-form');
  });
});
