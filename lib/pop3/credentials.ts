/**
 * What a login needs, as the protocol layer defines it: the credentials, the mechanism asked for and how
 * the connection is protected. Ports (lib/ports.ts) and the configuration (lib/config/types.ts) re-export
 * these types, so the protocol core depends on neither.
 */

export type TlsMode = 'implicit' | 'starttls' | 'none';

/** 'auto' tries what the server offers, in the order lib/pop3/login-plan.ts gives; anything else means exactly that mechanism. */
export type AuthMethod = 'auto' | 'user' | 'apop' | 'plain' | 'login' | 'cram-md5' | 'xoauth2';

export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  | { readonly kind: 'oauth2'; readonly username: string; readonly accessToken: string };
