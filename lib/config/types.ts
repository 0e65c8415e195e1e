/**
 * The mailbox configuration as the rest of the code sees it, after JSON Schema validation and defaults
 * (see schema/config.schema.json and lib/config/load-config.ts).
 */

import type { AuthMethod, TlsMode } from '../pop3/credentials.ts';
import type { SecretRef } from '../ports.ts';
import type { ProviderProfile } from './providers.ts';

/**
 * Defined by the protocol layer (lib/pop3/credentials.ts). Re-exported because they are public API:
 * lib/index.ts exports them from here, beside MailboxConfig. Code in this package imports them from home.
 */
export type { AuthMethod, TlsMode } from '../pop3/credentials.ts';

export interface MailboxLimits {
  /** Most messages retrieved in one run (the rest waits for the next run). */
  readonly maxMessagesPerRun: number;
  /** Most octets (by LIST size) retrieved in one run. */
  readonly maxBytesPerRun: number;
  /** A message larger than this is left on the server and reported, never retrieved. */
  readonly maxMessageBytes: number;
}

/** Which messages the first keep-mode run ingests (only when the mailbox has no state yet). */
export type InitialIngest = 'all' | 'none' | { readonly newest: number };

/** Keep mode: messages stay on the server; the UIDLs already ingested are the mailbox's state. */
export interface KeepConfig {
  /** DELE a message once it was ingested at least this many days ago; undefined: never. */
  readonly deleteAfterDays: number | undefined;
  /** @default 'all' */
  readonly initial: InitialIngest;
}

export interface MailboxConfig {
  /** Stable id: part of every object key and of every notification. `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$` */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
  readonly username: string;
  /**
   * Where the mailbox's credential comes from: a password, an OAuth2 access token, or an OAuth2 grant the
   * token is obtained with. Written in the configuration document as `password`, `accessToken` or `oauth2`.
   */
  readonly credential: SecretRef;
  /** Whether `credential` holds an OAuth2 access token or grant (XOAUTH2) rather than a password. */
  readonly credentialKind: 'password' | 'oauth2';
  readonly auth: AuthMethod;
  /** Extra trusted CA certificates (PEM) for this server. */
  readonly ca: string | undefined;
  /** TLS server name, when it differs from `host`. */
  readonly servername: string | undefined;
  /** Required to send a password over a connection without TLS. */
  readonly allowInsecureAuth: boolean;
  /** Use RFC 2449 pipelining when the server advertises it. */
  readonly pipelining: boolean;
  readonly limits: MailboxLimits;
  /** Keep mode (lib/pipeline/keep-mode.ts); undefined: drain (DELE every committed message). */
  readonly keep?: KeepConfig;
  /**
   * Whose Authentication-Results header fields fill the notification's SPF, DKIM and DMARC verdicts (their
   * authserv-ids; `*.example.com` for any name below example.com, '' for Microsoft 365's id-less form).
   * @default the provider's own for a known POP3 host (lib/notification/trusted-authserv.ts), else none
   */
  readonly trustedAuthservId?: readonly string[] | undefined;
  /**
   * The provider's profile (lib/config/providers.ts): from `provider` in the document, else by host.
   * Absent in configurations built in code: the pipeline then picks it by host.
   */
  readonly profile?: ProviderProfile;
}

export interface PollerConfig {
  readonly mailboxes: readonly MailboxConfig[];
  /** How many mailboxes one process polls at once. */
  readonly concurrency: number;
}
