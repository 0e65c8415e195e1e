/**
 * The secret material of a mailbox for the circuit breaker's fingerprint (lib/health/fingerprint.ts),
 * read through the same provider a run uses: the password or access token as a run would resolve it,
 * or, for an OAuth2 grant, the credential document itself (a new consent or a renewed client secret
 * changes it), without asking the token endpoint for a token it already refused.
 */
import type { SecretMaterial } from '../health/fingerprint.ts';
import type { ConfigCredentialsProvider } from './credentials.ts';

export function secretMaterialOf(provider: ConfigCredentialsProvider): SecretMaterial {
  return async (mailbox, signal) => {
    const ref = mailbox.credential;
    if ('oauth2' in ref) return (await provider.oauth2Store().read(ref.oauth2.secret)).text;
    const credentials = await provider.resolve(ref, mailbox.username, mailbox.credentialKind, {
      ...(signal === undefined ? {} : { signal }),
    });
    return credentials.kind === 'password' ? credentials.password : credentials.accessToken;
  };
}
