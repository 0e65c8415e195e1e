/**
 * The two unattended OAuth2 credential kinds (schema/oauth2-secret.schema.json, docs/oauth2.md) and the
 * provider presets. A secret document holds everything a grant needs; the mailbox config may carry the
 * non-secret fields (provider, tenant, client id, scope, token URL), which fill in what the document lacks.
 */
import type { OAuth2Grant, OAuth2Provider, OAuth2Settings } from '../ports.ts';

/** A secret document after parsing: all that one token request needs. */
export interface OAuth2Credential {
  readonly grant: OAuth2Grant;
  readonly provider: OAuth2Provider | undefined;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  /** A certificate credential (PEM certificate and its PEM private key), in place of a client secret. */
  readonly certificate: { readonly certificatePem: string; readonly privateKeyPem: string } | undefined;
  readonly refreshToken: string | undefined;
  readonly scope: string;
  /** The tenant (Microsoft), kept for messages and the client-credentials cache key. */
  readonly tenant: string | undefined;
}

/** Microsoft's Exchange Online resource: app-only tokens must ask for `<resource>/.default`. */
export const MICROSOFT_APP_ONLY_SCOPE = 'https://outlook.office365.com/.default';
/** Delegated POP access plus offline_access, without which Microsoft returns no refresh token. */
export const MICROSOFT_DELEGATED_SCOPE = 'https://outlook.office365.com/POP.AccessAsUser.All offline_access';
/** Google's only scope that allows POP/IMAP/SMTP. */
export const GOOGLE_MAIL_SCOPE = 'https://mail.google.com/';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_AUTHORIZATION_URL = 'https://accounts.google.com/o/oauth2/v2/auth';

/** A tenant id, a verified domain, or one of Microsoft's aliases (organizations, common, consumers). */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

export function microsoftEndpoint(tenant: string, path: 'token' | 'devicecode'): string {
  if (!TENANT.test(tenant))
    throw new OAuth2SettingsError(`"${tenant.slice(0, 64)}" is not a tenant id or domain`);
  return `https://login.microsoftonline.com/${encodeURIComponent(tenant)}/oauth2/v2.0/${path}`;
}

export function defaultScope(provider: OAuth2Provider | undefined, grant: OAuth2Grant): string | undefined {
  if (provider === 'google') return GOOGLE_MAIL_SCOPE;
  if (provider === 'microsoft')
    return grant === 'client_credentials' ? MICROSOFT_APP_ONLY_SCOPE : MICROSOFT_DELEGATED_SCOPE;
  return undefined;
}

/** A secret document or mailbox setting is unusable; says which field, never a secret value. */
export class OAuth2SettingsError extends Error {
  // Classified like every other credentials problem (lib/pipeline/classify-failure.ts): failed, `credentials`.
  override readonly name = 'CredentialsError';
}

const GRANTS: readonly string[] = ['client_credentials', 'refresh_token'];
const PROVIDERS: readonly string[] = ['microsoft', 'google'];
const FIELDS = new Set([
  'grant',
  'provider',
  'tenant',
  'clientId',
  'clientSecret',
  'certificate',
  'privateKey',
  'refreshToken',
  'scope',
  'tokenUrl',
]);

/**
 * Parses a secret document (JSON text) and completes it with the mailbox's settings. `where` names the
 * secret in messages. Unknown fields are refused (a misspelt `refresh_token` would otherwise be ignored).
 */
export function parseCredential(text: string, settings: OAuth2Settings, where: string): OAuth2Credential {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new OAuth2SettingsError(`${where} is not a JSON object (see docs/oauth2.md)`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new OAuth2SettingsError(`${where} is not a JSON object (see docs/oauth2.md)`);
  }
  const fields = document as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!FIELDS.has(name))
      throw new OAuth2SettingsError(`${where} has an unknown field "${name.slice(0, 40)}"`);
  }
  const text_ = (name: string): string | undefined => {
    const value = fields[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') {
      throw new OAuth2SettingsError(`${where}: field "${name}" must be a non-empty string`);
    }
    return value;
  };
  const grant = text_('grant') ?? settings.grant;
  if (!GRANTS.includes(grant))
    throw new OAuth2SettingsError(`${where}: grant must be one of ${GRANTS.join(', ')}`);
  if (grant !== settings.grant) {
    throw new OAuth2SettingsError(
      `${where} holds a ${grant} credential, but the mailbox says ${settings.grant}`,
    );
  }
  const provider = text_('provider') ?? settings.provider;
  if (provider !== undefined && !PROVIDERS.includes(provider)) {
    throw new OAuth2SettingsError(`${where}: provider must be one of ${PROVIDERS.join(', ')}`);
  }
  const preset = provider as OAuth2Provider | undefined;
  const tenant = text_('tenant') ?? settings.tenant;
  const clientId = text_('clientId') ?? settings.clientId;
  if (clientId === undefined) throw new OAuth2SettingsError(`${where} has no "clientId"`);
  const clientSecret = text_('clientSecret');
  const certificatePem = text_('certificate');
  const privateKeyPem = text_('privateKey');
  if ((certificatePem === undefined) !== (privateKeyPem === undefined)) {
    throw new OAuth2SettingsError(`${where}: "certificate" and "privateKey" go together`);
  }
  if (certificatePem !== undefined && clientSecret !== undefined) {
    throw new OAuth2SettingsError(`${where}: give "clientSecret" or "certificate", not both`);
  }
  const certificate =
    certificatePem === undefined || privateKeyPem === undefined
      ? undefined
      : { certificatePem, privateKeyPem };
  const refreshToken = text_('refreshToken');
  if (grant === 'refresh_token' && refreshToken === undefined) {
    throw new OAuth2SettingsError(`${where} has no "refreshToken"; get one with: mailbox-poller oauth login`);
  }
  if (grant === 'client_credentials' && clientSecret === undefined && certificate === undefined) {
    throw new OAuth2SettingsError(
      `${where} has no "clientSecret" (or "certificate" + "privateKey"), which the client_credentials grant needs`,
    );
  }
  const tokenUrl = text_('tokenUrl') ?? settings.tokenUrl ?? presetTokenUrl(preset, tenant, where);
  if (!isAcceptableTokenUrl(tokenUrl)) {
    throw new OAuth2SettingsError(
      `${where}: tokenUrl must be an https:// URL (http only to a loopback address)`,
    );
  }
  const scope = text_('scope') ?? settings.scope ?? defaultScope(preset, grant as OAuth2Grant);
  if (scope === undefined)
    throw new OAuth2SettingsError(`${where} has no "scope" (and no provider to default it)`);
  return {
    grant: grant as OAuth2Grant,
    provider: preset,
    tokenUrl,
    clientId,
    clientSecret,
    certificate,
    refreshToken,
    scope,
    tenant,
  };
}

function presetTokenUrl(
  provider: OAuth2Provider | undefined,
  tenant: string | undefined,
  where: string,
): string {
  if (provider === 'google') return GOOGLE_TOKEN_URL;
  if (provider === 'microsoft') {
    if (tenant === undefined) throw new OAuth2SettingsError(`${where}: provider microsoft needs a "tenant"`);
    return microsoftEndpoint(tenant, 'token');
  }
  throw new OAuth2SettingsError(`${where} needs a "provider" (microsoft, google) or a "tokenUrl"`);
}

/**
 * RFC 6749 §3.2: the token endpoint is reached over TLS. Plain http only to a loopback address (a local
 * test server or proxy), where nothing crosses a network.
 */
export function isAcceptableTokenUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/** The document with a new refresh token, every other field as it was. */
export function withRefreshToken(text: string, refreshToken: string): string {
  const document = JSON.parse(text) as Record<string, unknown>;
  return `${JSON.stringify({ ...document, refreshToken }, null, 2)}\n`;
}
