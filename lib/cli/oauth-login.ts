/**
 * `mailbox-poller oauth login`: the one-time consent by a person that yields a refresh token, written as a
 * credential document (schema/oauth2-secret.schema.json) to a local secret file or a Secrets Manager
 * secret, from where scheduled runs renew access tokens without anyone.
 *
 * Microsoft: the device authorization grant (RFC 8628): the person opens a URL on any device and types a
 * code. Google: the authorization code grant with PKCE (RFC 7636) and a loopback redirect (RFC 8252 §7.3);
 * Google's device flow does not allow the mail scope. The tokens are never printed, only their claims.
 */
import { parseArgs } from 'node:util';
import * as oauth from 'oauth4webapi';
import { writeSecretFileAtomically } from '../adapters/secret-file.ts';
import { SecretsManagerSource } from '../adapters/secrets-manager-source.ts';
import {
  defaultScope,
  GOOGLE_AUTHORIZATION_URL,
  GOOGLE_TOKEN_URL,
  microsoftEndpoint,
} from '../oauth/settings.ts';
import { describeToken } from '../oauth/token-claims.ts';
import {
  authorizationServer,
  classifyTokenError,
  clientAuthentication,
  httpOptions,
  unavailableIfBusy,
} from '../oauth/token-request.ts';
import type { OAuth2Provider } from '../ports.ts';
import { usageProblem } from './args.ts';
import type { CliIo } from './io.ts';
import { LoginTimeoutError, listenForCallback, NOBODY_SIGNED_IN } from './loopback-listener.ts';
import { usageErrorText } from './usage-line.ts';

export const OAUTH_LOGIN_USAGE = `Usage: mailbox-poller oauth login --provider google|microsoft --client-id ID (--out FILE | --secret-id ID) [options]

Asks a person for consent once and stores the refresh token for unattended runs (docs/oauth2.md).
  microsoft: device code sign-in (open the URL shown, type the code); needs --tenant
  google:    browser sign-in with PKCE; the browser returns to a one-time local address

Options:
  --provider P          microsoft or google
  --client-id ID        the OAuth client (app registration) id
  --client-secret S     the client secret, if the client has one (Google desktop clients do); or env OAUTH_CLIENT_SECRET
  --tenant T            Microsoft tenant id or domain
  --scope S             default: POP.AccessAsUser.All + offline_access (Microsoft), https://mail.google.com/ (Google)
  --out FILE            write the credential document to this file (mode 0600)
  --secret-id ID        write it to this existing Secrets Manager secret (PutSecretValue)
  --token-url URL       another token endpoint (also written to the document)
  --device-authorization-url URL, --authorization-url URL   other endpoints for the two flows
  --timeout SECONDS     how long to wait for the person (default 600)`;

interface LoginOptions {
  readonly provider: OAuth2Provider;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly tenant: string | undefined;
  readonly scope: string;
  readonly tokenUrl: string;
  readonly explicitTokenUrl: boolean;
  readonly deviceUrl: string | undefined;
  readonly authorizationUrl: string;
  readonly destination: { readonly file: string } | { readonly secretId: string };
  readonly timeoutMs: number;
}

class LoginUsageError extends Error {}

export async function oauthLoginMain(argv: readonly string[], io: CliIo): Promise<number> {
  let options: LoginOptions;
  try {
    options = parseLoginArgs(argv, io.env);
  } catch (error) {
    io.stderr.write(usageErrorText('oauth login', usageProblem(error, OAUTH_LOGIN_USAGE)));
    return 2;
  }
  try {
    const signal = AbortSignal.timeout(options.timeoutMs);
    const result =
      options.provider === 'microsoft'
        ? await deviceFlow(options, io, signal)
        : await codeFlow(options, io, signal);
    if (result.refresh_token === undefined) {
      throw new Error(
        'the token endpoint issued no refresh token' +
          (options.provider === 'microsoft'
            ? ' (the scope needs offline_access)'
            : ' (Google: access_type=offline, prompt=consent)'),
      );
    }
    const document = {
      grant: 'refresh_token',
      provider: options.provider,
      ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
      clientId: options.clientId,
      ...(options.clientSecret === undefined ? {} : { clientSecret: options.clientSecret }),
      refreshToken: result.refresh_token,
      scope: options.scope,
      ...(options.explicitTokenUrl ? { tokenUrl: options.tokenUrl } : {}),
    };
    const text = `${JSON.stringify(document, null, 2)}\n`;
    if ('file' in options.destination) await writeSecretFileAtomically(options.destination.file, text);
    else await new SecretsManagerSource().putSecretString(options.destination.secretId, text);
    const where =
      'file' in options.destination ? options.destination.file : `secret "${options.destination.secretId}"`;
    io.stdout.write(`refresh token stored in ${where}\n${describeToken(result.access_token)}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(
      `mailbox-poller: oauth login failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
}

function parseLoginArgs(argv: readonly string[], env: NodeJS.ProcessEnv): LoginOptions {
  // parseArgs' own errors go up as they are: usageProblem turns their code into one line for a person.
  const { values, positionals } = parse(argv);
  if (positionals.length !== 1 || positionals[0] !== 'login')
    throw new LoginUsageError(
      `unknown oauth command ${positionals.join(' ') || '(none)'}; the one there is: login`,
    );
  const provider = values.provider;
  if (provider !== 'microsoft' && provider !== 'google')
    throw new LoginUsageError('--provider must be microsoft or google');
  if (!values['client-id']) throw new LoginUsageError('--client-id is required');
  if ((values.out === undefined) === (values['secret-id'] === undefined)) {
    throw new LoginUsageError('give exactly one of --out FILE and --secret-id ID');
  }
  const tenant = values.tenant;
  if (provider === 'microsoft' && tenant === undefined && values['token-url'] === undefined) {
    throw new LoginUsageError('--tenant is required for microsoft');
  }
  const tokenUrl =
    values['token-url'] ??
    (provider === 'google' ? GOOGLE_TOKEN_URL : microsoftEndpoint(tenant ?? '', 'token'));
  const timeout = Number(values.timeout ?? '600');
  if (!Number.isSafeInteger(timeout) || timeout < 1)
    throw new LoginUsageError('--timeout needs a whole number above 0');
  const clientSecret = values['client-secret'] ?? (env.OAUTH_CLIENT_SECRET || undefined);
  return {
    provider,
    clientId: values['client-id'],
    clientSecret,
    tenant,
    scope: values.scope ?? (defaultScope(provider, 'refresh_token') as string),
    tokenUrl,
    explicitTokenUrl: values['token-url'] !== undefined,
    deviceUrl:
      values['device-authorization-url'] ??
      (tenant === undefined
        ? undefined
        : provider === 'microsoft'
          ? microsoftEndpoint(tenant, 'devicecode')
          : undefined),
    authorizationUrl: values['authorization-url'] ?? GOOGLE_AUTHORIZATION_URL,
    destination:
      values.out === undefined ? { secretId: values['secret-id'] as string } : { file: values.out },
    timeoutMs: timeout * 1000,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      provider: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      tenant: { type: 'string' },
      scope: { type: 'string' },
      out: { type: 'string' },
      'secret-id': { type: 'string' },
      'token-url': { type: 'string' },
      'device-authorization-url': { type: 'string' },
      'authorization-url': { type: 'string' },
      timeout: { type: 'string' },
    },
  });
}

/** RFC 8628: show the code, then poll the token endpoint at the interval the server asks for. */
async function deviceFlow(
  options: LoginOptions,
  io: CliIo,
  signal: AbortSignal,
): Promise<oauth.TokenEndpointResponse> {
  if (options.deviceUrl === undefined)
    throw new Error('--device-authorization-url is required without --tenant');
  const as = authorizationServer(options.tokenUrl, { device_authorization_endpoint: options.deviceUrl });
  const client: oauth.Client = { client_id: options.clientId };
  const auth = clientAuthentication(options);
  let device: oauth.DeviceAuthorizationResponse;
  try {
    const response = await oauth.deviceAuthorizationRequest(
      as,
      client,
      auth,
      { scope: options.scope },
      httpOptions(options.deviceUrl, signal),
    );
    device = await oauth.processDeviceAuthorizationResponse(
      as,
      client,
      unavailableIfBusy(response, options.deviceUrl),
    );
  } catch (error) {
    throw classifyTokenError(error, options.deviceUrl);
  }
  const message =
    typeof device['message'] === 'string'
      ? device['message']
      : `To sign in, open ${device.verification_uri} and enter the code ${device.user_code}.`;
  io.stderr.write(`${message}\n`);
  let intervalS = device.interval ?? 5;
  for (;;) {
    await sleep(intervalS * 1000, signal);
    try {
      const response = await oauth.deviceCodeGrantRequest(
        as,
        client,
        auth,
        device.device_code,
        httpOptions(options.tokenUrl, signal),
      );
      return await oauth.processDeviceCodeResponse(as, client, unavailableIfBusy(response, options.tokenUrl));
    } catch (error) {
      if (error instanceof oauth.ResponseBodyError && error.error === 'authorization_pending') continue;
      if (error instanceof oauth.ResponseBodyError && error.error === 'slow_down') {
        intervalS += 5;
        continue;
      }
      // --timeout ran out while a poll was on its way: the person did not sign in, the endpoint is fine
      // (the aborted request would otherwise read as "could not be reached or did not answer").
      if (signal.aborted) throw new LoginTimeoutError(NOBODY_SIGNED_IN);
      throw classifyTokenError(error, options.tokenUrl);
    }
  }
}

/** RFC 7636 + RFC 8252: the browser comes back to a one-time listener on 127.0.0.1 with the code. */
async function codeFlow(
  options: LoginOptions,
  io: CliIo,
  signal: AbortSignal,
): Promise<oauth.TokenEndpointResponse> {
  const as = authorizationServer(options.tokenUrl, { authorization_endpoint: options.authorizationUrl });
  const client: oauth.Client = { client_id: options.clientId };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const callback = await listenForCallback(signal, state, io);
  try {
    const url = new URL(options.authorizationUrl);
    url.search = new URLSearchParams({
      client_id: options.clientId,
      redirect_uri: callback.redirectUri,
      response_type: 'code',
      scope: options.scope,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      // Google issues a refresh token only for offline access, and again only with a fresh consent.
      access_type: 'offline',
      prompt: 'consent',
    }).toString();
    io.stderr.write(`Open this address in a browser and sign in as the mailbox's user:\n${url.toString()}\n`);
    const returned = await callback.url;
    const parameters = oauth.validateAuthResponse(as, client, returned, state);
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuthentication(options),
      parameters,
      callback.redirectUri,
      verifier,
      httpOptions(options.tokenUrl, signal),
    );
    return await oauth.processAuthorizationCodeResponse(
      as,
      client,
      unavailableIfBusy(response, options.tokenUrl),
    );
  } catch (error) {
    if (error instanceof LoginTimeoutError) throw error;
    throw error instanceof oauth.AuthorizationResponseError
      ? new Error(
          `the sign-in was refused: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`,
        )
      : classifyTokenError(error, options.tokenUrl);
  } finally {
    callback.close();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new LoginTimeoutError(NOBODY_SIGNED_IN));
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new LoginTimeoutError(NOBODY_SIGNED_IN));
      },
      { once: true },
    );
  });
}
