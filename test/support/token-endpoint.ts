/**
 * An OAuth 2.0 authorization server for tests (RFC 6749, RFC 7636 PKCE, RFC 8628 device grant, RFC 7662
 * introspection for Dovecot's oauth2 passdb). Access tokens are JWT-shaped (unsigned: nobody here verifies
 * signatures; the poller only decodes them, and Dovecot asks /introspect) with aud, scp or roles, tid, exp.
 *
 * Knobs: token lifetime, refresh-token rotation, a refresh token that is refused (invalid_grant), a number
 * of 503 answers, and the scope Dovecot's introspection demands (a token for another scope is inactive).
 * Also: refresh-token reuse detection (RFC 9700 §4.14.2: a retired refresh token presented again revokes
 * its whole family), and 200 answers whose body a strict client must reject (`malformNext`).
 */
import { createHash, randomBytes, verify, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOOPBACK } from './ports.ts';

export interface TokenEndpointClient {
  readonly clientId: string;
  /** Absent: a public client (device flow, PKCE), or one with a certificate. */
  readonly clientSecret?: string;
  /** A certificate credential: the client signs a JWT assertion (RFC 7523) with its key. */
  readonly certificatePem?: string;
  /** The user a client-credentials token acts for is the one in XOAUTH2's user=; tokens carry no user. */
}

export interface TokenEndpointOptions {
  readonly clients: readonly TokenEndpointClient[];
  /** Access token lifetime in seconds. @default 3600 */
  readonly expiresIn?: number;
  /** Issue a new refresh token on every refresh_token grant and retire the old one. @default true */
  readonly rotateRefreshTokens?: boolean;
  /** The scope a token must carry to be active at /introspect. @default 'pop' */
  readonly requiredScope?: string;
  /** The user the authorization-code and device flows consent as. @default 'oauthuser' */
  readonly consentingUser?: string;
  /**
   * A retired (rotated) refresh token presented again revokes every refresh token of its family, as RFC
   * 9700 §4.14.2 asks of servers that rotate. @default false
   */
  readonly reuseDetection?: boolean;
}

/**
 * How a 200 answer is spoiled: `scope` as an array, `token_type` missing, or one no client knows. Each is
 * a body oauth4webapi rejects, while it still carries a (rotated) refresh token. Or the rotated refresh
 * token itself comes as a number: retired the old one, gave no usable new one.
 */
export type MalformedBody = 'scope-array' | 'no-token-type' | 'unknown-token-type' | 'refresh-token-number';

export interface IssuedRecord {
  readonly grantType: string;
  readonly clientId: string;
  readonly scope: string;
}

export interface TokenEndpoint {
  /** `http://127.0.0.1:port`; token URL is `${url}/token`. */
  readonly url: string;
  readonly tokenUrl: string;
  /** Every grant request answered with a token, in order. */
  readonly issued: readonly IssuedRecord[];
  /** Every request to /token, answered or refused. */
  readonly tokenRequests: number;
  /** A refresh token valid for `user` with `scope` (what a person's consent would have produced). */
  grantRefreshToken(user: string, clientId: string, scope: string): string;
  /** Whether a refresh token is currently valid. */
  isRefreshTokenValid(refreshToken: string): boolean;
  /** Refuse every refresh token from now on with invalid_grant (consent withdrawn). */
  revokeAll(): void;
  /** The next `count` /token requests get 503. */
  failNext(count: number): void;
  /** The next `count` tokens issued (grants still performed, rotation included) come in a spoiled body. */
  malformNext(how: MalformedBody, count?: number): void;
  /** Refresh-token families revoked by reuse detection. */
  readonly familiesRevoked: number;
  setExpiresIn(seconds: number): void;
  close(): Promise<void>;
}

interface LiveToken {
  readonly user: string | undefined;
  readonly scope: string;
  readonly expiresAtMs: number;
}

export async function startTokenEndpoint(options: TokenEndpointOptions): Promise<TokenEndpoint> {
  const clients = new Map(options.clients.map((client) => [client.clientId, client]));
  const refreshTokens = new Map<string, { user: string; clientId: string; scope: string; family: string }>();
  const accessTokens = new Map<string, LiveToken>();
  const codes = new Map<
    string,
    { clientId: string; redirectUri: string; challenge: string; scope: string }
  >();
  const deviceCodes = new Map<string, { clientId: string; scope: string; polls: number }>();
  const issued: IssuedRecord[] = [];
  const consentingUser = options.consentingUser ?? 'oauthuser';
  const requiredScope = options.requiredScope ?? 'pop';
  let expiresIn = options.expiresIn ?? 3600;
  let failures = 0;
  let tokenRequests = 0;
  let malformed: { how: MalformedBody; count: number } | undefined;
  let familiesRevoked = 0;
  /** Retired refresh token → its family (reuse detection). */
  const retired = new Map<string, string>();
  const random = () => randomBytes(18).toString('base64url');

  const newRefreshToken = (user: string, clientId: string, scope: string, family = random()) => {
    const token = `rt-${random()}`;
    refreshTokens.set(token, { user, clientId, scope, family });
    return token;
  };
  const revokeFamily = (family: string) => {
    familiesRevoked++;
    for (const [token, record] of refreshTokens) if (record.family === family) refreshTokens.delete(token);
  };

  const accessToken = (user: string | undefined, clientId: string, scope: string, appOnly: boolean) => {
    const now = Date.now();
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const claims = {
      aud: 'https://pop.test',
      iss: url,
      tid: 'test-tenant',
      appid: clientId,
      ...(appOnly ? { roles: scope.split(' ') } : { scp: scope, upn: user }),
      iat: Math.floor(now / 1000),
      exp: Math.floor(now / 1000) + expiresIn,
      jti: random(),
    };
    const token = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${random()}`;
    accessTokens.set(token, { user, scope, expiresAtMs: now + expiresIn * 1000 });
    return token;
  };

  const authenticateClient = (form: URLSearchParams, response: ServerResponse) => {
    const client = clients.get(form.get('client_id') ?? '');
    if (client?.certificatePem !== undefined) {
      if (!assertionValid(form, client.certificatePem, client.clientId, `${url}/token`)) {
        json(response, 401, {
          error: 'invalid_client',
          error_description: 'AADSTS700027: client assertion failed',
        });
        return undefined;
      }
      return client;
    }
    if (
      client === undefined ||
      (client.clientSecret !== undefined && client.clientSecret !== form.get('client_secret'))
    ) {
      json(response, 401, { error: 'invalid_client', error_description: 'unknown client or wrong secret' });
      return undefined;
    }
    return client;
  };

  const grant = (form: URLSearchParams, response: ServerResponse): void => {
    tokenRequests++;
    if (failures > 0) {
      failures--;
      json(response, 503, { error: 'temporarily_unavailable' });
      return;
    }
    const client = authenticateClient(form, response);
    if (client === undefined) return;
    const type = form.get('grant_type') ?? '';
    const ok = (document: object, scope: string) => {
      issued.push({ grantType: type, clientId: client.clientId, scope });
      json(response, 200, spoiled({ token_type: 'Bearer', expires_in: expiresIn, ...document }));
    };
    if (type === 'client_credentials') {
      if (client.clientSecret === undefined && client.certificatePem === undefined) {
        json(response, 400, { error: 'unauthorized_client' });
        return;
      }
      const scope = form.get('scope') ?? '';
      ok({ access_token: accessToken(undefined, client.clientId, scope, true) }, scope);
      return;
    }
    if (type === 'refresh_token') {
      const old = form.get('refresh_token') ?? '';
      const record = refreshTokens.get(old);
      const family = retired.get(old);
      if (options.reuseDetection && record === undefined && family !== undefined) revokeFamily(family);
      if (record === undefined || record.clientId !== client.clientId) {
        json(response, 400, {
          error: 'invalid_grant',
          error_description: 'AADSTS70000: the refresh token was revoked',
        });
        return;
      }
      let refreshToken: string | undefined;
      if (options.rotateRefreshTokens ?? true) {
        refreshTokens.delete(old);
        retired.set(old, record.family);
        refreshToken = newRefreshToken(record.user, record.clientId, record.scope, record.family);
      }
      ok(
        {
          access_token: accessToken(record.user, client.clientId, record.scope, false),
          ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
          scope: record.scope,
        },
        record.scope,
      );
      return;
    }
    if (type === 'authorization_code') {
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (
        code === undefined ||
        code.challenge !== challenge ||
        code.redirectUri !== form.get('redirect_uri')
      ) {
        json(response, 400, {
          error: 'invalid_grant',
          error_description: 'bad code, verifier or redirect_uri',
        });
        return;
      }
      ok(
        {
          access_token: accessToken(consentingUser, client.clientId, code.scope, false),
          refresh_token: newRefreshToken(consentingUser, client.clientId, code.scope),
          scope: code.scope,
        },
        code.scope,
      );
      return;
    }
    if (type === 'urn:ietf:params:oauth:grant-type:device_code') {
      const device = deviceCodes.get(form.get('device_code') ?? '');
      if (device === undefined) {
        json(response, 400, { error: 'expired_token' });
        return;
      }
      // The first poll finds the person still typing the code (RFC 8628 §3.5).
      if (device.polls++ === 0) {
        json(response, 400, { error: 'authorization_pending' });
        return;
      }
      deviceCodes.delete(form.get('device_code') ?? '');
      ok(
        {
          access_token: accessToken(consentingUser, client.clientId, device.scope, false),
          refresh_token: newRefreshToken(consentingUser, client.clientId, device.scope),
          scope: device.scope,
        },
        device.scope,
      );
      return;
    }
    json(response, 400, { error: 'unsupported_grant_type' });
  };

  const spoiled = (document: Record<string, unknown>): Record<string, unknown> => {
    if (malformed === undefined) return document;
    const { how } = malformed;
    if (--malformed.count === 0) malformed = undefined;
    if (how === 'scope-array') return { ...document, scope: String(document['scope'] ?? 'pop').split(' ') };
    if (how === 'unknown-token-type') return { ...document, token_type: 'N_A' };
    if (how === 'refresh-token-number') return { ...document, refresh_token: 42 };
    const { token_type: _dropped, ...rest } = document;
    return rest;
  };

  const server = createServer((request, response) => {
    readForm(request)
      .then((form) => {
        const path = new URL(request.url ?? '/', 'http://x').pathname;
        if (request.method === 'POST' && path === '/token') return grant(form, response);
        if (request.method === 'POST' && path === '/devicecode') {
          const client = clients.get(form.get('client_id') ?? '');
          if (client === undefined) return json(response, 400, { error: 'invalid_client' });
          const deviceCode = random();
          deviceCodes.set(deviceCode, {
            clientId: client.clientId,
            scope: form.get('scope') ?? '',
            polls: 0,
          });
          return json(response, 200, {
            device_code: deviceCode,
            user_code: 'ABCD-EFGH',
            verification_uri: `${url}/device`,
            expires_in: 900,
            interval: 1,
            message: `To sign in, open ${url}/device and enter the code ABCD-EFGH.`,
          });
        }
        if (request.method === 'GET' && path === '/authorize') return authorize(request, response);
        if (request.method === 'POST' && path === '/introspect') {
          const live = accessTokens.get(form.get('token') ?? '');
          const active =
            live !== undefined &&
            live.expiresAtMs > Date.now() &&
            live.scope.split(' ').includes(requiredScope);
          // An app-only token names no user: like Exchange after Add-MailboxPermission, it opens the
          // consenting user's mailbox.
          const username = live?.user ?? consentingUser;
          return json(
            response,
            200,
            active ? { active: true, username, scope: live.scope } : { active: false },
          );
        }
        return json(response, 404, { error: 'not_found' });
      })
      .catch((error: unknown) =>
        json(response, 500, { error: 'server_error', error_description: String(error) }),
      );
  });

  /** The person's consent, given at once: redirect to the client's loopback redirect_uri with a code. */
  function authorize(request: IncomingMessage, response: ServerResponse): void {
    const query = new URL(request.url ?? '/', 'http://x').searchParams;
    const redirectUri = query.get('redirect_uri') ?? '';
    const client = clients.get(query.get('client_id') ?? '');
    const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+\//.test(redirectUri);
    if (
      client === undefined ||
      !loopback ||
      query.get('code_challenge_method') !== 'S256' ||
      query.get('response_type') !== 'code'
    ) {
      json(response, 400, { error: 'invalid_request' });
      return;
    }
    const code = random();
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      challenge: query.get('code_challenge') ?? '',
      scope: query.get('scope') ?? '',
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = query.get('state');
    if (state !== null) target.searchParams.set('state', state);
    response.writeHead(302, { location: target.toString() });
    response.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const url = `http://${LOOPBACK}:${(server.address() as AddressInfo).port}`;

  return {
    url,
    tokenUrl: `${url}/token`,
    issued,
    get tokenRequests() {
      return tokenRequests;
    },
    grantRefreshToken: (user, clientId, scope) => newRefreshToken(user, clientId, scope),
    isRefreshTokenValid: (token) => refreshTokens.has(token),
    revokeAll: () => refreshTokens.clear(),
    failNext: (count) => {
      failures = count;
    },
    malformNext: (how, count = 1) => {
      malformed = { how, count };
    },
    get familiesRevoked() {
      return familiesRevoked;
    },
    setExpiresIn: (seconds) => {
      expiresIn = seconds;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** RFC 7523 client assertion: signed by the certificate's key, naming it by x5t#S256, for this endpoint. */
function assertionValid(
  form: URLSearchParams,
  certificatePem: string,
  clientId: string,
  audience: string,
): boolean {
  if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    return false;
  const [header, payload, signature] = (form.get('client_assertion') ?? '').split('.');
  if (header === undefined || payload === undefined || signature === undefined) return false;
  const certificate = new X509Certificate(certificatePem);
  const decode = (part: string) =>
    JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  const claims = decode(payload);
  const thumbprint = createHash('sha256').update(certificate.raw).digest('base64url');
  return (
    decode(header)['x5t#S256'] === thumbprint &&
    claims['iss'] === clientId &&
    claims['sub'] === clientId &&
    claims['aud'] === audience &&
    typeof claims['exp'] === 'number' &&
    claims['exp'] * 1000 > Date.now() &&
    verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      // JWS signatures with EC keys are r || s (RFC 7518 §3.4), not DER.
      { key: certificate.publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signature, 'base64url'),
    )
  );
}

function readForm(request: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    request.on('error', reject);
  });
}

function json(response: ServerResponse, status: number, document: object): void {
  const body = JSON.stringify(document);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}
