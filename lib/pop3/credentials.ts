/**
 * What a login needs, as the protocol layer defines it: the credentials, the mechanism asked for and how
 * the connection is protected. Ports (lib/ports.ts) and the configuration (lib/config/types.ts) re-export
 * these types, so the protocol core depends on neither.
 */

export type TlsMode = 'implicit' | 'starttls' | 'none';

/** 'auto' tries what the server offers, in the order lib/pop3/login-plan.ts gives; anything else means exactly that mechanism. */
export type AuthMethod =
  | 'auto'
  | 'user'
  | 'apop'
  | 'plain'
  | 'login'
  | 'cram-md5'
  | 'xoauth2'
  | 'oauthbearer';

export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string }
  | {
      readonly kind: 'oauth2';
      readonly username: string;
      readonly accessToken: string;
      /** The token's decoded claims (never the token), quoted when the server refuses it. */
      readonly tokenDescription?: string;
    };

/**
 * How the XOAUTH2 initial response is sent: 'two-step' (`AUTH XOAUTH2`, then the response after `+`, as
 * Microsoft 365 requires) or 'one-step' (the response on the AUTH line, RFC 4954 style).
 */
export type XOAuth2Form = 'two-step' | 'one-step';
